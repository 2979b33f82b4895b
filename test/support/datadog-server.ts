import { randomUUID } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CaseCreateRequestSchema, type CaseCreateRequest } from '../../lambda/datadog/schema.js';

// A local stand-in for the part of Datadog's /api/v2/cases that the bridge talks to. Its answers follow the
// recorded live exchanges in ../shared/datadog/recorded (JSON:API error objects, application/vnd.api+json, the
// CREATED body shape), not the OpenAPI text where the two differ.

export interface DatadogTestServerOptions {
  /** Expected `DD-API-KEY`. @default 'test-api-key' */
  readonly apiKey?: string;
  /** Expected `DD-APPLICATION-KEY`. @default 'test-app-key' */
  readonly appKey?: string;
  /** Extra check of a create body (e.g. the OpenAPI validator); returns error strings, empty when valid. */
  readonly validate?: (body: unknown) => string[];
  /** Clock of the rate-limit window, in ms. @default Date.now */
  readonly now?: () => number;
}

export interface RecordedRequest {
  readonly method: string;
  /** Path and query, e.g. `/api/v2/cases`. */
  readonly path: string;
  /** Lower-cased, as node:http gives them. */
  readonly headers: IncomingHttpHeaders;
  /** The raw body text. */
  readonly body: string;
  /** Status answered; undefined when the server never answered (hangNext, dropAfterCreateNext). */
  status: number | undefined;
}

export interface StoredCase {
  readonly id: string;
  /** `DDFC-<n>`. */
  readonly key: string;
  /** The create request body the server got. */
  readonly request: CaseCreateRequest;
  /** The 201 body (sent, or for dropAfterCreateNext, the one that was never sent). */
  readonly response: CaseBody;
}

export interface InjectedReply {
  readonly status: number;
  /** An object is sent as JSON, a string as is. @default a JSON:API error body for the status */
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface RateLimitOptions {
  /** Creates allowed per window. */
  readonly limit: number;
  readonly periodSeconds: number;
  /** `X-RateLimit-Name`. @default 'cases_write' */
  readonly name?: string;
}

export interface DatadogTestServer {
  /** Base URL to use as DD_API_URL (no trailing slash). */
  readonly url: string;
  readonly cases: readonly StoredCase[];
  readonly requests: readonly RecordedRequest[];
  /** Answer the next `n` case-creates (after the key check) with this reply. */
  failNext(n: number, reply: InjectedReply): void;
  /** Fixed-window rate limit on case-creates; `undefined` turns it off. */
  rateLimit(options: RateLimitOptions | undefined): void;
  /** Read the next `n` case-creates and never answer (until the client gives up or close()). */
  hangNext(n: number): void;
  /** Create the case for the next `n` case-creates, then destroy the socket without answering. */
  dropAfterCreateNext(n: number): void;
  /** Stops listening and destroys every open socket, hung ones included. */
  close(): Promise<void>;
}

type CaseBody = { data: { id: string; type: 'case'; attributes: Record<string, unknown>; relationships: Record<string, unknown> }; included: unknown[] };

const CASES_PATH = '/api/v2/cases';
const CASE_PATH = /^\/api\/v2\/cases\/([^/]+)$/;
const CREATOR = { id: '3ad549bf-eba0-11e9-a77a-0705486660d0', type: 'user' } as const;

function jsonApiError(status: number, detail?: string): { errors: Record<string, string>[] } {
  const item: Record<string, string> = { status: String(status), title: STATUS_CODES[status] ?? 'Error' };
  if (detail !== undefined) item.detail = detail;
  return { errors: [item] };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startDatadogServer(options: DatadogTestServerOptions = {}): Promise<DatadogTestServer> {
  const apiKey = options.apiKey ?? 'test-api-key';
  const appKey = options.appKey ?? 'test-app-key';
  const now = options.now ?? Date.now;

  const cases: StoredCase[] = [];
  const requests: RecordedRequest[] = [];
  const injected: InjectedReply[] = [];
  let hang = 0;
  let drop = 0;
  let limit: RateLimitOptions | undefined;
  let window = { start: 0, count: 0 };

  function send(res: ServerResponse, entry: RecordedRequest, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    entry.status = status;
    res.writeHead(status, { 'Content-Type': 'application/vnd.api+json', ...headers });
    res.end(text);
  }

  /** Counts this create in the current window; returns the X-RateLimit-* headers and whether it is over. */
  function takeRateLimit(): { headers: Record<string, string>; over: boolean } {
    if (limit === undefined) return { headers: {}, over: false };
    const periodMs = limit.periodSeconds * 1000;
    const t = now();
    if (t >= window.start + periodMs) window = { start: t, count: 0 };
    window.count += 1;
    const headers = {
      'X-RateLimit-Limit': String(limit.limit),
      'X-RateLimit-Period': String(limit.periodSeconds),
      'X-RateLimit-Remaining': String(Math.max(0, limit.limit - window.count)),
      // Seconds until the window ends, not an epoch (Datadog's convention).
      'X-RateLimit-Reset': String(Math.max(1, Math.ceil((window.start + periodMs - t) / 1000))),
      'X-RateLimit-Name': limit.name ?? 'cases_write',
    };
    return { headers, over: window.count > limit.limit };
  }

  function createCase(request: CaseCreateRequest): StoredCase {
    const n = cases.length + 1;
    const id = randomUUID();
    const { attributes: a, relationships: r } = request.data;
    const relationships: Record<string, unknown> = { created_by: { data: CREATOR }, project: r.project };
    if (r.assignee?.data) relationships.assignee = { data: r.assignee.data };
    const response: CaseBody = {
      data: {
        id,
        type: 'case',
        attributes: {
          attributes: {},
          comment_count: 0,
          created_at: new Date(now()).toISOString(),
          creation_source: 'MANUAL',
          custom_attributes: a.custom_attributes ?? {},
          description: a.description ?? '',
          insights: [],
          internal_id: id,
          key: `DDFC-${n}`,
          merge_status: 'NOT_MERGED',
          priority: a.priority ?? 'NOT_DEFINED',
          public_id: String(n),
          status: 'OPEN',
          status_name: a.status_name ?? 'Open',
          title: a.title,
          type: 'STANDARD',
          type_id: a.type_id,
        },
        relationships,
      },
      included: [{ id: CREATOR.id, type: 'user', attributes: { active: true, email: 'bridge@example.com', handle: 'bridge@example.com', name: 'bridge' } }],
    };
    const stored = { id, key: `DDFC-${n}`, request, response };
    cases.push(stored);
    return stored;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const path = req.url ?? '/';
    const entry: RecordedRequest = { method: req.method ?? '', path, headers: req.headers, body, status: undefined };
    requests.push(entry);
    const pathname = new URL(path, 'http://localhost').pathname;
    const caseMatch = CASE_PATH.exec(pathname);
    const isCreate = req.method === 'POST' && pathname === CASES_PATH;
    const isGet = req.method === 'GET' && caseMatch !== null;

    if (!isCreate && !isGet) return send(res, entry, 404, jsonApiError(404, `no route for ${req.method} ${pathname}`));
    if (req.headers['dd-api-key'] !== apiKey || req.headers['dd-application-key'] !== appKey) {
      return send(res, entry, 403, { errors: ['Forbidden'] }, { 'Content-Type': 'application/json' });
    }
    if (isGet) {
      const found = cases.find((c) => c.id === decodeURIComponent(caseMatch[1] ?? ''));
      // Recorded live 404: {"errors":[{"code":"resource_not_found","title":"case not found"}]}
      return found ? send(res, entry, 200, found.response) : send(res, entry, 404, { errors: [{ code: 'resource_not_found', title: 'case not found' }] });
    }

    if (hang > 0) {
      hang -= 1;
      return; // never answered; close() destroys the socket
    }
    const reply = injected.shift();
    if (reply !== undefined) return send(res, entry, reply.status, reply.body ?? jsonApiError(reply.status), { ...reply.headers });
    const rate = takeRateLimit();
    if (rate.over) return send(res, entry, 429, { errors: ['Too many requests'] }, { ...rate.headers, 'Content-Type': 'application/json' });
    if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
      return send(res, entry, 415, jsonApiError(415, `Content-Type must be application/json, got ${req.headers['content-type'] ?? 'none'}`), rate.headers);
    }
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch (e) {
      return send(res, entry, 400, jsonApiError(400, `invalid JSON: ${(e as Error).message}`), rate.headers);
    }
    const parsed = CaseCreateRequestSchema.safeParse(json);
    const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
    problems.push(...(options.validate?.(json) ?? []));
    if (!parsed.success || problems.length > 0) {
      // Same shape as the recorded "Create a case returns Bad Request" answer, one error item per problem.
      return send(res, entry, 400, { errors: problems.map((detail) => ({ status: '400', title: 'Bad Request', detail })) }, rate.headers);
    }
    const created = createCase(parsed.data);
    if (drop > 0) {
      drop -= 1;
      req.socket.destroy();
      return;
    }
    send(res, entry, 201, created.response, rate.headers);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/vnd.api+json' }).end(JSON.stringify(jsonApiError(500, String(error))));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    cases,
    requests,
    failNext(n, reply) {
      for (let i = 0; i < n; i += 1) injected.push(reply);
    },
    rateLimit(o) {
      limit = o;
      window = { start: 0, count: 0 };
    },
    hangNext(n) {
      hang += n;
    },
    dropAfterCreateNext(n) {
      drop += n;
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Hung requests and keep-alive sockets would otherwise hold close() open.
        server.closeAllConnections();
      });
    },
  };
}
