import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { caseSchemas, type CaseCreateRequest } from '../datadog/schema.js';
import { ConfigError } from '../shared/errors.js';
import * as z from '../shared/zod.js';

// A local stand-in for the part of Datadog's Case Management API (/api/v2/cases) that the bridge talks to:
// create, get, search by text, comment, status, case links. `npm start` runs it when the secret has no Datadog keys;
// the tests run it with fault injection (failNext, hangNext, rate limits). Request bodies are checked with
// the bridge's own schemas of the API (lambda/datadog/schema.ts; test/conformance checks them and these
// answers against Datadog's OpenAPI document). Its answers follow the recorded live exchanges
// (JSON:API error objects, application/vnd.api+json, the CREATED body shape), not the OpenAPI text where
// the two differ.

export interface DatadogTestServerOptions {
  /** Expected `DD-API-KEY`. @default 'test-api-key' */
  readonly apiKey?: string;
  /** Expected `DD-APPLICATION-KEY`. @default 'test-app-key' */
  readonly appKey?: string;
  /** Extra check of a create body (e.g. the OpenAPI validator); returns error strings, empty when valid. */
  readonly validate?: (body: unknown) => string[];
  /** Clock of the rate-limit window, in ms. @default Date.now */
  readonly now?: () => number;
  /** Search (GET /api/v2/cases) does not see cases younger than this (Datadog's index lags writes). @default 0 */
  readonly searchLagMs?: number;
  /** Port on 127.0.0.1. @default 0 (any free port) */
  readonly port?: number;
  /** Fixed-window rate limit from the start (see rateLimit()). @default none (no X-RateLimit-* headers) */
  readonly rateLimit?: RateLimitOptions;
  /**
   * A JSON file that keeps the cases: read at start when it exists, rewritten (whole, then renamed over
   * the old one) after every change, before the answer. @default none: the cases live in memory
   */
  readonly file?: string;
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
  /** The answer's body text, when answered. */
  answer?: string;
}

export interface StoredCase {
  readonly id: string;
  /** `DDFC-<n>`. */
  readonly key: string;
  /** The create request body the server got. */
  readonly request: CaseCreateRequest;
  /** The 201 body (sent, or for dropAfterCreateNext, the one that was never sent). Status updates change its attributes. */
  readonly response: CaseBody;
  /** Comment texts posted to the case, in order. */
  readonly comments: string[];
  /** Every status change (`status` or `status_name` as sent), in order. */
  readonly statusChanges: string[];
}

/** A link between two cases (CreateCaseLink), as the stand-in keeps it. */
export interface StoredLink {
  readonly id: string;
  readonly parentCaseId: string;
  readonly childCaseId: string;
  readonly relationship: string;
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
  /** Comments and status updates share the creates' window. @default false */
  readonly includeUpdates?: boolean;
}

export interface DatadogTestServer {
  /** Base URL to use as DD_API_URL (no trailing slash). */
  readonly url: string;
  readonly cases: readonly StoredCase[];
  /** Case links made (POST /api/v2/cases/link), in order. */
  readonly links: readonly StoredLink[];
  readonly requests: readonly RecordedRequest[];
  /** Answer the next `n` case-creates (after the key check) with this reply. */
  failNext(n: number, reply: InjectedReply): void;
  /** Fixed-window rate limit on case-creates; `undefined` turns it off. */
  rateLimit(options: RateLimitOptions | undefined): void;
  /** Read the next `n` case-creates and never answer (until the client gives up or close()). */
  hangNext(n: number): void;
  /** Create the case for the next `n` case-creates, then destroy the socket without answering. */
  dropAfterCreateNext(n: number): void;
  /** Hold the next `n` case-creates for `ms` (the create is in flight meanwhile), then handle them as usual. */
  delayNext(n: number, ms: number): void;
  /** Answer the next `n` comment/status updates (after the key check) with this reply. */
  failNextUpdates(n: number, reply: InjectedReply): void;
  /** Hold the next `n` comment/status updates for `ms` (the update is in flight meanwhile), then handle them as usual. */
  delayNextUpdates(n: number, ms: number): void;
  /** Answer the next `n` case-link calls (POST or GET /api/v2/cases/link, after the key check) with this reply. */
  failNextLinks(n: number, reply: InjectedReply): void;
  /** Answer the next `n` timeline reads (GET /api/v2/cases/{id}/timelines, after the key check) with this reply. */
  failNextTimelines(n: number, reply: InjectedReply): void;
  /** Stops listening and destroys every open socket, hung ones included. */
  close(): Promise<void>;
}

type CaseBody = { data: { id: string; type: 'case'; attributes: Record<string, unknown>; relationships: Record<string, unknown> }; included: unknown[] };

const CASES_PATH = '/api/v2/cases';
const CASE_PATH = /^\/api\/v2\/cases\/([^/]+)$/;
const CASE_ACTION_PATH = /^\/api\/v2\/cases\/([^/]+)\/(comment|status)$/;
const CASE_TIMELINE_PATH = /^\/api\/v2\/cases\/([^/]+)\/timelines$/;
const LINK_PATH = '/api/v2/cases/link';
/** Statuses Datadog accepts (recorded 400 of UpdateStatus), with the name and group the test server shows. */
const STATUSES: Readonly<Record<string, { name: string; group: string }>> = {
  OPEN: { name: 'Open', group: 'SG_OPEN' },
  IN_PROGRESS: { name: 'In Progress', group: 'SG_IN_PROGRESS' },
  CLOSED: { name: 'Closed', group: 'SG_CLOSED' },
};
/** Status names the test server knows beyond the three above (a custom "won't fix" closes too). */
const EXTRA_STATUS_NAMES: Readonly<Record<string, string>> = { "won't fix": 'CLOSED', 'cancelled': 'CLOSED', 'resolved': 'CLOSED' };
const CREATOR = { id: '3ad549bf-eba0-11e9-a77a-0705486660d0', type: 'user' } as const;

/** The cases file (`file` option): what StoredCase holds, checked when read back. */
const StoredCasesFileSchema = z.object({
  cases: z.array(
    z.object({
      id: z.string(),
      key: z.string(),
      request: z.unknown(),
      response: z.object({
        data: z.object({ id: z.string(), type: z.literal('case'), attributes: z.record(z.string(), z.unknown()), relationships: z.record(z.string(), z.unknown()) }),
        included: z.array(z.unknown()),
      }),
      comments: z.array(z.string()),
      statusChanges: z.array(z.string()),
    }),
  ),
  links: z.optional(z.array(z.object({ id: z.string(), parentCaseId: z.string(), childCaseId: z.string(), relationship: z.string() }))),
});

/** The cases and links kept in `file`, or none when it does not exist yet. */
function readStoredCases(file: string): { cases: StoredCase[]; links: StoredLink[] } {
  if (!existsSync(file)) return { cases: [], links: [] };
  try {
    const parsed = StoredCasesFileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    return { cases: parsed.cases.map((c) => ({ ...c, request: caseSchemas().CaseCreateRequest.parse(c.request) })), links: parsed.links ?? [] };
  } catch (cause) {
    throw new ConfigError(`${file} does not hold the local Case Management's cases (delete it to start afresh)`, { cause });
  }
}

function writeStoredCases(file: string, cases: readonly StoredCase[], links: readonly StoredLink[]): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify({ cases, links })}\n`);
  renameSync(temporary, file);
}

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

  const stored = options.file !== undefined ? readStoredCases(options.file) : { cases: [], links: [] };
  const cases: StoredCase[] = stored.cases;
  const links: StoredLink[] = stored.links;
  /** Keeps the cases and links in `file` (when set): called after every change, before the answer. */
  const save = (): void => {
    if (options.file !== undefined) writeStoredCases(options.file, cases, links);
  };
  const requests: RecordedRequest[] = [];
  const injected: InjectedReply[] = [];
  const injectedUpdates: InjectedReply[] = [];
  const injectedTimelines: InjectedReply[] = [];
  const injectedLinks: InjectedReply[] = [];
  /** The timeline cell of each posted comment (by case, in `comments` order). */
  const commentCells = new Map<string, { id: string; createdAt: string }[]>();
  let hang = 0;
  let drop = 0;
  const delays: number[] = [];
  const updateDelays: number[] = [];
  let limit: RateLimitOptions | undefined = options.rateLimit;
  let window = { start: 0, count: 0 };

  function send(res: ServerResponse, entry: RecordedRequest, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    entry.status = status;
    entry.answer = text;
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
          status_group: 'SG_OPEN',
          status_name: a.status_name ?? 'Open',
          title: a.title,
          type: 'STANDARD',
          type_id: a.type_id,
        },
        relationships,
      },
      included: [{ id: CREATOR.id, type: 'user', attributes: { active: true, email: 'bridge@example.com', handle: 'bridge@example.com', name: 'bridge' } }],
    };
    const stored: StoredCase = { id, key: `DDFC-${n}`, request, response, comments: [], statusChanges: [] };
    cases.push(stored);
    save();
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
    const actionMatch = req.method === 'POST' ? CASE_ACTION_PATH.exec(pathname) : null;
    const isSearch = req.method === 'GET' && pathname === CASES_PATH;
    const timelineMatch = req.method === 'GET' ? CASE_TIMELINE_PATH.exec(pathname) : null;
    const isLink = (req.method === 'POST' || req.method === 'GET') && pathname === LINK_PATH;

    if (!isCreate && !isGet && actionMatch === null && !isSearch && timelineMatch === null && !isLink) return send(res, entry, 404, jsonApiError(404, `no route for ${req.method} ${pathname}`));
    if (req.headers['dd-api-key'] !== apiKey || req.headers['dd-application-key'] !== appKey) {
      return send(res, entry, 403, { errors: ['Forbidden'] }, { 'Content-Type': 'application/json' });
    }
    if (isLink) return req.method === 'POST' ? createLink(req, res, entry, body) : listLinks(res, entry, new URL(path, 'http://localhost').searchParams);
    if (isGet) {
      const found = cases.find((c) => c.id === decodeURIComponent(caseMatch[1] ?? ''));
      // Recorded live 404: {"errors":[{"code":"resource_not_found","title":"case not found"}]}
      return found ? send(res, entry, 200, found.response) : send(res, entry, 404, { errors: [{ code: 'resource_not_found', title: 'case not found' }] });
    }
    if (timelineMatch !== null) return timeline(res, entry, decodeURIComponent(timelineMatch[1] ?? ''), new URL(path, 'http://localhost').searchParams);
    if (isSearch) return search(res, entry, new URL(path, 'http://localhost').searchParams);
    if (actionMatch !== null) {
      const held = updateDelays.shift();
      if (held !== undefined) await new Promise((resolve) => setTimeout(resolve, held));
      return update(req, res, entry, body, decodeURIComponent(actionMatch[1] ?? ''), actionMatch[2] as 'comment' | 'status');
    }

    const delay = delays.shift();
    if (delay !== undefined) await new Promise((resolve) => setTimeout(resolve, delay));
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
    const parsed = caseSchemas().CaseCreateRequest.safeParse(json);
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

  /** GET /api/v2/cases: every term of `filter` must occur in the title, description or a custom attribute value; `status:x` matches the status. */
  function search(res: ServerResponse, entry: RecordedRequest, params: URLSearchParams): void {
    const terms = (params.get('filter') ?? '').match(/"[^"]*"|\S+/g) ?? [];
    const size = Math.max(1, Number(params.get('page[size]') ?? 10) || 10);
    const number = Math.max(1, Number(params.get('page[number]') ?? 1) || 1);
    const lag = options.searchLagMs ?? 0;
    const visible = cases.filter((c) => Date.parse(String(c.response.data.attributes.created_at)) <= now() - lag);
    const matching = visible.filter((c) => {
      const a = c.response.data.attributes;
      const text = [a.title, a.description, ...Object.values((a.custom_attributes ?? {}) as Record<string, { value?: unknown }>).map((v) => JSON.stringify(v?.value))]
        .map((t) => String(t ?? '').toLowerCase())
        .join('\n');
      return terms.every((raw) => {
        const term = raw.replace(/^"|"$/g, '').toLowerCase();
        if (term.startsWith('status:')) return String(a.status).toLowerCase() === term.slice('status:'.length);
        return text.includes(term);
      });
    });
    const page = matching.slice((number - 1) * size, number * size).map((c) => ({ ...c.response.data }));
    send(res, entry, 200, { data: page, meta: { total_cases: matching.length, page: { current: number, size: page.length, total: Math.ceil(matching.length / size) } }, included: [] });
  }

  /**
   * GET /api/v2/cases/{id}/timelines (ListCaseTimeline, reconstructed in the spec): the case's comments as
   * COMMENT cells, newest first unless `sort[ascending]=true`, `page[number]` zero-based, `page[size]` default 10.
   */
  function timeline(res: ServerResponse, entry: RecordedRequest, id: string, params: URLSearchParams): void {
    const reply = injectedTimelines.shift();
    if (reply !== undefined) return send(res, entry, reply.status, reply.body ?? jsonApiError(reply.status), { ...reply.headers });
    const found = cases.find((c) => c.id === id);
    if (found === undefined) return send(res, entry, 404, { errors: [{ code: 'resource_not_found', title: 'case not found' }] });
    const size = Math.max(1, Number(params.get('page[size]') ?? 10) || 10);
    const number = Math.max(0, Number(params.get('page[number]') ?? 0) || 0);
    const meta = commentCells.get(found.id) ?? [];
    const created = String(found.response.data.attributes.created_at);
    const cells = found.comments.map((message, i) => ({
      id: meta[i]?.id ?? `${found.id}-comment-${i}`,
      type: 'timeline_cell',
      attributes: { author: { type: 'USER', content: { id: CREATOR.id, name: 'bridge' } }, cell_content: { message }, created_at: meta[i]?.createdAt ?? created, type: 'COMMENT' },
    }));
    if (params.get('sort[ascending]') !== 'true') cells.reverse();
    send(res, entry, 200, { data: cells.slice(number * size, (number + 1) * size) });
  }

  /**
   * The start of a write other than a create (comment, status, link): an injected reply, else the
   * rate limit when it covers updates. The window's headers to answer with, or undefined once answered.
   */
  function admitUpdate(injectedReplies: InjectedReply[], res: ServerResponse, entry: RecordedRequest): Record<string, string> | undefined {
    const reply = injectedReplies.shift();
    if (reply !== undefined) return void send(res, entry, reply.status, reply.body ?? jsonApiError(reply.status), { ...reply.headers });
    const rate = limit?.includeUpdates ? takeRateLimit() : { headers: {}, over: false };
    if (rate.over) return void send(res, entry, 429, { errors: ['Too many requests'] }, { ...rate.headers, 'Content-Type': 'application/json' });
    return rate.headers;
  }

  /** The request's JSON body, or undefined once answered 415 (not JSON) or 400 (not parsable). */
  function jsonBody(req: IncomingMessage, res: ServerResponse, entry: RecordedRequest, body: string, headers: Record<string, string>): { readonly json: unknown } | undefined {
    if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) return void send(res, entry, 415, jsonApiError(415), headers);
    try {
      return { json: JSON.parse(body) as unknown };
    } catch (e) {
      return void send(res, entry, 400, jsonApiError(400, `invalid JSON: ${(e as Error).message}`), headers);
    }
  }

  /**
   * POST /api/v2/cases/link (CreateCaseLink, reconstructed in the spec): a link between two of its cases,
   * checked with the bridge's schema of the request; 404 when either case is unknown, 201 with the link.
   */
  function createLink(req: IncomingMessage, res: ServerResponse, entry: RecordedRequest, body: string): void {
    const headers = admitUpdate(injectedLinks, res, entry);
    if (headers === undefined) return;
    const read = jsonBody(req, res, entry, body, headers);
    if (read === undefined) return;
    const parsed = caseSchemas().CaseLinkCreateRequest.safeParse(read.json);
    if (!parsed.success) return send(res, entry, 400, { errors: parsed.error.issues.map((i) => ({ status: '400', title: 'Bad Request', detail: `${i.path.join('.') || '(body)'}: ${i.message}` })) }, headers);
    const a = parsed.data.data.attributes;
    const unknown = [a.parent_entity_id, a.child_entity_id].find((id) => !cases.some((c) => c.id === id));
    if (unknown !== undefined) return send(res, entry, 404, { errors: [{ code: 'resource_not_found', title: 'case not found' }] }, headers);
    const made: StoredLink = { id: randomUUID(), parentCaseId: a.parent_entity_id, childCaseId: a.child_entity_id, relationship: a.relationship };
    links.push(made);
    save();
    send(res, entry, 201, { data: linkResource(made) }, headers);
  }

  /** GET /api/v2/cases/link?entity_type=CASE&entity_id=…[&relationship=…] (ListCaseLinks): the case's links either way. */
  function listLinks(res: ServerResponse, entry: RecordedRequest, params: URLSearchParams): void {
    const reply = injectedLinks.shift();
    if (reply !== undefined) return send(res, entry, reply.status, reply.body ?? jsonApiError(reply.status), { ...reply.headers });
    const id = params.get('entity_id');
    if (params.get('entity_type') === null || id === null) return send(res, entry, 400, jsonApiError(400, 'entity_type and entity_id are required'));
    const relationship = params.get('relationship');
    const found = links.filter((l) => (l.parentCaseId === id || l.childCaseId === id) && (relationship === null || l.relationship === relationship));
    send(res, entry, 200, { data: found.map(linkResource) });
  }

  function linkResource(l: StoredLink): { id: string; type: 'link'; attributes: Record<string, string> } {
    return { id: l.id, type: 'link', attributes: { parent_entity_id: l.parentCaseId, parent_entity_type: 'CASE', child_entity_id: l.childCaseId, child_entity_type: 'CASE', relationship: l.relationship } };
  }

  /** POST /api/v2/cases/{id}/comment and /status, answered as recorded (404 resource_not_found, 400 with the valid statuses). */
  function update(req: IncomingMessage, res: ServerResponse, entry: RecordedRequest, body: string, id: string, action: 'comment' | 'status'): void {
    const headers = admitUpdate(injectedUpdates, res, entry);
    if (headers === undefined) return;
    const rate = { headers };
    const found = cases.find((c) => c.id === id);
    if (found === undefined) return send(res, entry, 404, { errors: [{ code: 'resource_not_found', title: 'case not found' }] }, rate.headers);
    const read = jsonBody(req, res, entry, body, rate.headers);
    if (read === undefined) return;
    const json = read.json;
    const attributes = found.response.data.attributes;
    const at = new Date(now()).toISOString();
    if (action === 'comment') {
      const parsed = caseSchemas().CaseCommentRequest.safeParse(json);
      // Recorded: an empty comment is answered {"errors":[{"status":"400","title":"Bad Request"}]}.
      if (!parsed.success) return send(res, entry, 400, jsonApiError(400), rate.headers);
      const message = parsed.data.data.attributes.comment;
      const cellId = randomUUID();
      const cells = commentCells.get(found.id) ?? [];
      cells[found.comments.length] = { id: cellId, createdAt: at };
      commentCells.set(found.id, cells);
      found.comments.push(message);
      attributes.comment_count = found.comments.length;
      save();
      const cell = { id: cellId, type: 'timeline_cell', attributes: { author: { type: 'USER', content: { ID: CREATOR.id, name: 'bridge' } }, cell_content: { message }, content: JSON.stringify({ message }), created_at: at, type: 'COMMENT' } };
      return send(res, entry, 200, { data: [cell] }, rate.headers);
    }
    const parsed = caseSchemas().CaseStatusRequest.safeParse(json);
    const requested = parsed.success ? (parsed.data.data.attributes.status ?? parsed.data.data.attributes.status_name ?? '') : (json as { data?: { attributes?: { status?: unknown } } })?.data?.attributes?.status;
    const byName = parsed.success && parsed.data.data.attributes.status === undefined ? EXTRA_STATUS_NAMES[String(requested).toLowerCase()] ?? Object.keys(STATUSES).find((k) => STATUSES[k]?.name.toLowerCase() === String(requested).toLowerCase()) : undefined;
    const status = parsed.success ? (parsed.data.data.attributes.status ?? byName) : undefined;
    if (status === undefined) {
      // Recorded answer to {"status":"OPENED"}.
      const detail = `invalid status ${String(requested)}. Must be one of NOT_STARTED, IN_PROGRESS, CLOSED, ACKNOWLEDGED, TRIGGERED, PENDING_APPROVAL, COMPLETED, CANCELLED, DECLINED, SUNKNOWN, OPEN, RESOLVED, APPROVED, IMPLEMENTING`;
      return send(res, entry, 400, { errors: [{ title: 'Generic Error', detail }] }, rate.headers);
    }
    const shown = STATUSES[status] ?? { name: status, group: 'SG_OPEN' };
    found.statusChanges.push(String(requested));
    attributes.status = status;
    attributes.status_name = parsed.success && parsed.data.data.attributes.status_name !== undefined ? parsed.data.data.attributes.status_name : shown.name;
    attributes.status_group = shown.group;
    attributes.modified_at = at;
    if (status === 'CLOSED') attributes.closed_at = at;
    else delete attributes.closed_at;
    save();
    return send(res, entry, 200, found.response, rate.headers);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/vnd.api+json' }).end(JSON.stringify(jsonApiError(500, String(error))));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    cases,
    links,
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
    delayNext(n, ms) {
      for (let i = 0; i < n; i += 1) delays.push(ms);
    },
    failNextUpdates(n, reply) {
      for (let i = 0; i < n; i += 1) injectedUpdates.push(reply);
    },
    delayNextUpdates(n, ms) {
      for (let i = 0; i < n; i += 1) updateDelays.push(ms);
    },
    failNextTimelines(n, reply) {
      for (let i = 0; i < n; i += 1) injectedTimelines.push(reply);
    },
    failNextLinks(n, reply) {
      for (let i = 0; i < n; i += 1) injectedLinks.push(reply);
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
