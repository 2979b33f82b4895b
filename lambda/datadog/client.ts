import type * as z from '../shared/zod.js';
import { DatadogError, type RateLimit } from '../shared/errors.js';
import { CaseResponseSchema, ErrorBodySchema, type CaseCreateRequest } from './schema.js';

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

/** The narrow interface the bridge uses: only the calls it makes. */
export interface DatadogClient {
  createCase(request: CaseCreateRequest, keys: DatadogKeys): Promise<CreatedCase>;
}

export interface DatadogClientOptions {
  /** `https://api.<site>` or `DD_API_URL`, without a trailing slash. */
  readonly baseUrl: string;
  /** Deadline of each call. @default 5000 */
  readonly timeoutMs?: number;
  /** Injected for tests; @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

const NUMBER_HEADERS = { limit: 'x-ratelimit-limit', period: 'x-ratelimit-period', remaining: 'x-ratelimit-remaining', reset: 'x-ratelimit-reset' } as const;

/** Reads the `X-RateLimit-*` headers; `reset` is seconds until the limit resets. */
export function parseRateLimit(headers: Headers): RateLimit | undefined {
  const out: { -readonly [K in keyof RateLimit]: RateLimit[K] } = {};
  let any = false;
  for (const [field, name] of Object.entries(NUMBER_HEADERS) as [keyof typeof NUMBER_HEADERS, string][]) {
    const raw = headers.get(name);
    if (raw === null) continue;
    const n = Number(raw.trim());
    if (Number.isFinite(n) && n >= 0) {
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
  const parsed = ErrorBodySchema.safeParse(json);
  if (!parsed.success) return [];
  return parsed.data.errors.map((e) =>
    typeof e === 'string' ? e : [e.status, e.title, e.detail].filter((p): p is string => p !== undefined && p !== '').join(' '),
  );
}

/** 429, 5xx and no response at all are retryable; every other 4xx is not (retrying will not fix it). */
export function isRetryableStatus(status: number): boolean {
  return status === 0 || status === 429 || status >= 500;
}

export function createDatadogClient(options: DatadogClientOptions): DatadogClient {
  const doFetch = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? 5000;

  async function send<T>(method: string, path: string, body: unknown, keys: DatadogKeys, schema: z.ZodMiniType<T>): Promise<T> {
    let response: Response;
    const started = Date.now();
    try {
      response = await doFetch(`${options.baseUrl}${path}`, {
        method,
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/json',
          'DD-API-KEY': keys.apiKey,
          'DD-APPLICATION-KEY': keys.appKey,
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (cause) {
      const timedOut = cause instanceof Error && (cause.name === 'TimeoutError' || cause.name === 'AbortError');
      const refused = cause instanceof Error && /ECONNREFUSED|ENOTFOUND|EAI_AGAIN/.test(String((cause as { cause?: unknown }).cause ?? ''));
      throw new DatadogError(
        timedOut ? `Datadog ${method} ${path} timed out after ${timeoutMs} ms` : `Datadog ${method} ${path} failed before a response`,
        // A timeout or reset may come after Datadog acted on the request: the outcome is unknown.
        { status: 0, retryable: true, ambiguous: !refused, cause },
      );
    }
    let text: string;
    try {
      text = await response.text();
    } catch (cause) {
      throw new DatadogError(`Datadog ${method} ${path}: response body lost`, { status: 0, retryable: true, ambiguous: true, cause });
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
      });
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
    async createCase(request, keys) {
      const res = await send('POST', '/api/v2/cases', request, keys, CaseResponseSchema);
      return { id: res.data.id, key: res.data.attributes.key, statusName: res.data.attributes.status_name };
    },
  };
}
