import type * as z from '../shared/zod.js';
import { DatadogError, type RateLimit } from '../shared/errors.js';
import { nodeHttpFetch, type HttpFetch, type HttpResponse } from '../shared/http.js';
import {
  caseSchemas,
  type CaseCommentRequest,
  type CaseCreateRequest,
  type CaseLinkCreateRequest,
  type CaseResource,
  type CaseStatus,
  type CaseStatusRequest,
  type TimelineResponse,
} from './schema.js';

export interface DatadogKeys {
  readonly apiKey: string;
  readonly appKey: string;
}

export interface CreatedCase {
  readonly id: string;
  /** Human key such as `DDFC-82974`. */
  readonly key: string | undefined;
  readonly statusName: string | undefined;
}

/** What the bridge reads back about an existing case. */
export interface CaseSummary {
  readonly id: string;
  readonly key: string | undefined;
  /** `OPEN`, `IN_PROGRESS`, `CLOSED` (Datadog's coarse status; more values exist for some case types). */
  readonly status: string | undefined;
  /** The case type's status name, e.g. `Open`, `Closed`, `Won't fix`. */
  readonly statusName: string | undefined;
  /** `SG_OPEN`, `SG_IN_PROGRESS`, `SG_CLOSED` when Datadog sends it. */
  readonly statusGroup: string | undefined;
  readonly description: string | undefined;
  readonly createdAt: string | undefined;
  readonly closedAt: string | undefined;
}

/** Per call: a shorter deadline than the client's (e.g. what is left of the sender's). */
export interface CallOptions {
  readonly timeoutMs?: number;
}

/** One comment read back from a case's timeline. */
export interface CaseComment {
  readonly id: string;
  readonly message: string;
  readonly createdAt: string | undefined;
}

/**
 * What `listComments` found: the comments (newest first), or that the timeline cannot be read here
 * (ListCaseTimeline answered 400, 404 or 405). The endpoint is reconstructed in the OpenAPI file and was
 * never recorded live, so a caller that cannot check must act as if the comment were absent.
 */
export type CaseComments =
  | { readonly checked: true; readonly comments: readonly CaseComment[] }
  | { readonly checked: false; readonly status: number; readonly reason: string };

export interface ListCommentsOptions {
  /** Pages of COMMENTS_PAGE_SIZE cells to read at most, newest first. */
  readonly pages: number;
}

/** The deprecated `status` enum (accepted by every case type) or a status name of the case's type. */
export type CaseStatusUpdate = CaseStatus | { readonly statusName: string };

/**
 * The Datadog calls the bridge makes, and only those. Errors are DatadogError (429/5xx/no response
 * retryable; 5xx/timeouts ambiguous: the request may have reached Datadog).
 */
export interface DatadogClient {
  /** POST /api/v2/cases. */
  createCase(request: CaseCreateRequest, keys: DatadogKeys, options?: CallOptions): Promise<CreatedCase>;
  /** POST /api/v2/cases/{id}/comment. Returns the new timeline cell id when Datadog sends it. */
  addComment(caseId: string, text: string, keys: DatadogKeys, options?: CallOptions): Promise<{ readonly commentId: string | undefined }>;
  /** POST /api/v2/cases/{id}/status. */
  setStatus(caseId: string, status: CaseStatusUpdate, keys: DatadogKeys, options?: CallOptions): Promise<CaseSummary>;
  /** GET /api/v2/cases/{id}; a missing case throws DatadogError with status 404. */
  getCase(caseId: string, keys: DatadogKeys, options?: CallOptions): Promise<CaseSummary>;
  /**
   * GET /api/v2/cases?filter=<marker>: the oldest case whose description (or a custom attribute)
   * contains the marker, or undefined. Search lags writes: a case created seconds ago may be missing.
   */
  findCaseByMarker(marker: string, keys: DatadogKeys, options?: CallOptions): Promise<CaseSummary | undefined>;
  /**
   * GET /api/v2/cases/{id}/timelines (ListCaseTimeline), newest first, zero-based pages: the case's
   * comments on the first `pages` pages. A 400/404/405 is `{ checked: false }`, not an error; other
   * failures throw DatadogError as every call does.
   */
  listComments(caseId: string, options: ListCommentsOptions, keys: DatadogKeys, call?: CallOptions): Promise<CaseComments>;
  /**
   * POST /api/v2/cases/link: `caseId` SUCCESSOR_OF `previousCaseId` (issue 17). A 409 (the link
   * exists) is `{ existed: true }`, not an error.
   */
  linkSuccessor(caseId: string, previousCaseId: string, keys: DatadogKeys, options?: CallOptions): Promise<{ readonly linkId: string | undefined; readonly existed: boolean }>;
  /**
   * GET /api/v2/cases/link?entity_type=CASE&entity_id=<caseId>&relationship=SUCCESSOR_OF: whether
   * `caseId` is linked as the successor of `previousCaseId` already. A 400/404/405 is `undefined`
   * (cannot tell: the endpoint is reconstructed in the OpenAPI file), not an error.
   */
  isSuccessorLinked(caseId: string, previousCaseId: string, keys: DatadogKeys, options?: CallOptions): Promise<boolean | undefined>;
}

/** The relationship of a new case to its alert's previous case. */
export const SUCCESSOR_OF = 'SUCCESSOR_OF';

export interface DatadogClientOptions {
  /** `https://api.<site>` or `DD_API_URL`, without a trailing slash. */
  readonly baseUrl: string;
  /** Deadline of each call. @default 5000 */
  readonly timeoutMs?: number;
  /** Injected for tests (a fetch-shaped fake); @default nodeHttpFetch (Node's http/https: no undici at start, lambda/shared/http.ts) */
  readonly fetch?: HttpFetch;
  /**
   * Told the `X-RateLimit-*` headers of every successful answer that carries them, with the request's
   * method (a failed one carries them, and the method, on its DatadogError). The rate budget learns
   * the limit of writes from them. @default none
   */
  readonly onRateLimit?: (rateLimit: RateLimit, status: number, method: string) => void;
}

const NUMBER_HEADERS = { limit: 'x-ratelimit-limit', period: 'x-ratelimit-period', remaining: 'x-ratelimit-remaining', reset: 'x-ratelimit-reset' } as const;

const COUNT = /^\d+(?:\.\d+)?$/;

/** Reads the `X-RateLimit-*` headers; `reset` is seconds until the limit resets. A header that is no count is left out. */
export function parseRateLimit(headers: HttpResponse['headers']): RateLimit | undefined {
  const out: { -readonly [K in keyof RateLimit]: RateLimit[K] } = {};
  let any = false;
  for (const [field, name] of Object.entries(NUMBER_HEADERS) as [keyof typeof NUMBER_HEADERS, string][]) {
    const raw = headers.get(name)?.trim();
    // A count in decimal digits: Number('') is 0, and an empty Reset is no reset "now".
    if (raw === undefined || !COUNT.test(raw)) continue;
    const n = Number(raw);
    if (Number.isFinite(n)) {
      out[field] = n;
      any = true;
    }
  }
  const name = headers.get('x-ratelimit-name');
  if (name !== null) {
    out.name = name;
    any = true;
  }
  return any ? out : undefined;
}

/** Error strings from either body shape (`{"errors":["..."]}` or JSON:API error objects). */
export function parseErrorBody(text: string): string[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return text.trim() === '' ? [] : [text.trim().slice(0, 500)];
  }
  const parsed = caseSchemas().ErrorBody.safeParse(json);
  if (!parsed.success) return [];
  return parsed.data.errors.map((e) =>
    typeof e === 'string' ? e : [e.status, e.title, e.detail].filter((p): p is string => p !== undefined && p !== '').join(' '),
  );
}

/** 429, 5xx and no response at all are retryable; every other 4xx is not (retrying will not fix it). */
export function isRetryableStatus(status: number): boolean {
  return status === 0 || status === 429 || status >= 500;
}

function summaryOf(resource: CaseResource): CaseSummary {
  const a = resource.attributes;
  return {
    id: resource.id,
    key: a.key,
    status: a.status,
    statusName: a.status_name,
    statusGroup: a.status_group,
    description: a.description,
    createdAt: a.created_at,
    closedAt: a.closed_at ?? undefined,
  };
}

/** True when the case carries the marker in its description or in a custom attribute value. */
export function caseHasMarker(resource: CaseResource, marker: string): boolean {
  if (resource.attributes.description?.includes(marker)) return true;
  for (const attribute of Object.values(resource.attributes.custom_attributes ?? {})) {
    const value = (attribute as { value?: unknown } | null)?.value;
    if (value === marker || (Array.isArray(value) && value.includes(marker))) return true;
  }
  return false;
}

/** Node's error code (`ECONNREFUSED`, `ENOTFOUND`, `UND_ERR_SOCKET`, `ERR_SSL_…`) in a fetch error's cause chain. */
function networkCode(error: unknown): { code: string; message: string } | undefined {
  let cur: unknown = error;
  for (let depth = 0; depth < 5 && cur instanceof Error; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return { code, message: cur.message };
    // Happy eyeballs: one AggregateError with an error per address tried.
    cur = cur instanceof AggregateError && cur.errors.length > 0 ? cur.errors[0] : cur.cause;
  }
  return undefined;
}

/** Codes of a request that never left: no connection (refused, or no address for the host). Its outcome is known. */
const NOT_SENT_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

const TLS_CODE = /^(?:ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_)/;

/**
 * What a fetch that got no response ran into, for the retry reason and the logs:
 * "connection refused by api.datadoghq.eu (ECONNREFUSED)". `host` is the base URL's host:port (no
 * credentials: a URL's user info is left out).
 */
export function describeNetworkFailure(error: unknown, host: string): string {
  const found = networkCode(error);
  if (found === undefined) return `no response from ${host}: ${error instanceof Error ? error.message : String(error)}`.slice(0, 300);
  const { code, message } = found;
  if (code === 'ECONNREFUSED') return `connection refused by ${host} (ECONNREFUSED)`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `DNS lookup of ${host.replace(/:\d+$/, '')} failed (${code})`;
  if (TLS_CODE.test(code) || /\bTLS\b|\bSSL\b|certificate/i.test(message)) return `TLS connection to ${host} failed (${code})`;
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') return `connection to ${host} closed before a response (${code})`;
  if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return `connecting to ${host} timed out (${code})`;
  return `no response from ${host} (${code})`;
}

/** Cells per page of ListCaseTimeline. */
export const COMMENTS_PAGE_SIZE = 50;

/** ListCaseTimeline (and ListCaseLinks) answers that mean "this API cannot tell", not "try again". */
const TIMELINE_UNCHECKABLE = new Set([400, 404, 405]);

/** Page size of the marker search: only a handful of cases can carry one marker. */
const MARKER_SEARCH_PAGE_SIZE = 20;

export function createDatadogClient(options: DatadogClientOptions): DatadogClient {
  const doFetch = options.fetch ?? nodeHttpFetch;
  const defaultTimeoutMs = options.timeoutMs ?? 5000;
  const host = new URL(options.baseUrl).host;

  async function send<T>(method: string, path: string, body: unknown, keys: DatadogKeys, schema: z.ZodMiniType<T>, call?: CallOptions): Promise<T> {
    const timeoutMs = Math.max(1, Math.floor(Math.min(defaultTimeoutMs, call?.timeoutMs ?? defaultTimeoutMs)));
    let response: HttpResponse;
    const started = Date.now();
    try {
      response = await doFetch(`${options.baseUrl}${path}`, {
        method,
        headers: {
          ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
          Accept: 'application/json',
          'DD-API-KEY': keys.apiKey,
          'DD-APPLICATION-KEY': keys.appKey,
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (cause) {
      const timedOut = cause instanceof Error && (cause.name === 'TimeoutError' || cause.name === 'AbortError');
      const code = networkCode(cause)?.code;
      const refused = code !== undefined && NOT_SENT_CODES.has(code);
      throw new DatadogError(
        timedOut ? `Datadog ${method} ${path} timed out after ${timeoutMs} ms without a response from ${host}` : `Datadog ${method} ${path} failed: ${describeNetworkFailure(cause, host)}`,
        // A timeout or reset may come after Datadog acted on the request: the outcome is unknown.
        { status: 0, retryable: true, ambiguous: !refused, cause },
      );
    }
    let text: string;
    try {
      text = await response.text();
    } catch (cause) {
      const timedOut = cause instanceof Error && (cause.name === 'TimeoutError' || cause.name === 'AbortError');
      const why = timedOut ? `timed out after ${timeoutMs} ms` : describeNetworkFailure(cause, host);
      throw new DatadogError(`Datadog ${method} ${path}: response body lost (${why})`, { status: 0, retryable: true, ambiguous: true, cause });
    }
    if (!response.ok) {
      const errors = parseErrorBody(text);
      const rateLimit = parseRateLimit(response.headers);
      throw new DatadogError(`Datadog ${method} ${path} answered ${response.status}${errors.length ? `: ${errors.join('; ')}` : ''}`, {
        status: response.status,
        retryable: isRetryableStatus(response.status),
        errors,
        ...(rateLimit ? { rateLimit } : {}),
        ambiguous: response.status >= 500,
        method,
      });
    }
    if (options.onRateLimit !== undefined) {
      const rateLimit = parseRateLimit(response.headers);
      if (rateLimit !== undefined) options.onRateLimit(rateLimit, response.status, method);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      throw new DatadogError(`Datadog ${method} ${path} answered ${response.status} with a body that is not JSON`, { status: response.status, retryable: false, ambiguous: true, cause });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new DatadogError(`Datadog ${method} ${path} answered ${response.status} with an unexpected body (${Date.now() - started} ms)`, {
        status: response.status,
        retryable: false,
        ambiguous: true,
        cause: parsed.error,
      });
    }
    return parsed.data;
  }

  return {
    async createCase(request, keys, call) {
      const res = await send('POST', '/api/v2/cases', request, keys, caseSchemas().CaseResponse, call);
      return { id: res.data.id, key: res.data.attributes.key, statusName: res.data.attributes.status_name };
    },

    async addComment(caseId, text, keys, call) {
      const body: CaseCommentRequest = { data: { type: 'case', attributes: { comment: text } } };
      const res = await send('POST', `${casePath(caseId)}/comment`, body, keys, caseSchemas().TimelineResponse, call);
      return { commentId: res.data?.[0]?.id };
    },

    async setStatus(caseId, status, keys, call) {
      const attributes = typeof status === 'string' ? { status } : { status_name: status.statusName };
      const body: CaseStatusRequest = { data: { type: 'case', attributes } };
      const res = await send('POST', `${casePath(caseId)}/status`, body, keys, caseSchemas().CaseReadResponse, call);
      return summaryOf(res.data);
    },

    async getCase(caseId, keys, call) {
      const res = await send('GET', casePath(caseId), undefined, keys, caseSchemas().CaseReadResponse, call);
      return summaryOf(res.data);
    },

    async findCaseByMarker(marker, keys, call) {
      // The marker is one alphanumeric token (see lambda/ledger/marker.ts), so it needs no quoting.
      const query = new URLSearchParams({ filter: marker, 'page[size]': String(MARKER_SEARCH_PAGE_SIZE), 'page[number]': '1' });
      const res = await send('GET', `/api/v2/cases?${query.toString()}`, undefined, keys, caseSchemas().CasesSearchResponse, call);
      const matches = res.data.filter((c) => caseHasMarker(c, marker)).map(summaryOf);
      // Should two exist after all, the first created is the one the ledger keeps.
      matches.sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? ''));
      return matches[0];
    },

    async linkSuccessor(caseId, previousCaseId, keys, call) {
      const body: CaseLinkCreateRequest = {
        data: { type: 'link', attributes: { parent_entity_id: caseId, parent_entity_type: 'CASE', child_entity_id: previousCaseId, child_entity_type: 'CASE', relationship: SUCCESSOR_OF } },
      };
      try {
        const res = await send('POST', '/api/v2/cases/link', body, keys, caseSchemas().CaseLinkResponse, call);
        return { linkId: res.data.id, existed: false };
      } catch (error) {
        if (error instanceof DatadogError && error.status === 409) return { linkId: undefined, existed: true };
        throw error;
      }
    },

    async isSuccessorLinked(caseId, previousCaseId, keys, call) {
      const query = new URLSearchParams({ entity_type: 'CASE', entity_id: caseId, relationship: SUCCESSOR_OF });
      try {
        const res = await send('GET', `/api/v2/cases/link?${query.toString()}`, undefined, keys, caseSchemas().CaseLinksResponse, call);
        return res.data.some((l) => l.attributes.parent_entity_id === caseId && l.attributes.child_entity_id === previousCaseId && l.attributes.relationship === SUCCESSOR_OF);
      } catch (error) {
        if (error instanceof DatadogError && TIMELINE_UNCHECKABLE.has(error.status)) return undefined;
        throw error;
      }
    },

    async listComments(caseId, { pages }, keys, call) {
      const comments: CaseComment[] = [];
      for (let page = 0; page < pages; page++) {
        const query = new URLSearchParams({ 'page[size]': String(COMMENTS_PAGE_SIZE), 'page[number]': String(page), 'sort[ascending]': 'false' });
        let res: TimelineResponse;
        try {
          res = await send('GET', `${casePath(caseId)}/timelines?${query.toString()}`, undefined, keys, caseSchemas().TimelineResponse, call);
        } catch (error) {
          if (error instanceof DatadogError && TIMELINE_UNCHECKABLE.has(error.status)) return { checked: false, status: error.status, reason: error.message };
          throw error;
        }
        const cells = res.data ?? [];
        for (const cell of cells) {
          const a = cell.attributes;
          const message = a?.cell_content?.message;
          if (a?.type !== 'COMMENT' || message === undefined || (a.deleted_at ?? null) !== null) continue;
          comments.push({ id: cell.id, message, createdAt: a.created_at });
        }
        if (cells.length < COMMENTS_PAGE_SIZE) break;
      }
      return { checked: true, comments };
    },
  };
}

function casePath(caseId: string): string {
  return `/api/v2/cases/${encodeURIComponent(caseId)}`;
}
