import type { IncomingMessage } from 'node:http';

/** The part of a fetch Response the bridge reads. */
export interface HttpResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}

export interface HttpRequestInit {
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
  /** Ends the call (the answer's body included): the request is destroyed and the promise rejects with the signal's reason. */
  readonly signal: AbortSignal;
}

/** A fetch-shaped request: `fetch` fits it (tests inject fetch-shaped fakes), and so does nodeHttpFetch. */
export type HttpFetch = (url: string, init: HttpRequestInit) => Promise<HttpResponse>;

type HttpModule = typeof import('node:https');

/**
 * node:http or node:https, from Node's own loader (process.getBuiltinModule): an ESM `import` of
 * node:http builds the module's ESM facade, which reads every export and so loads Node's fetch
 * (undici) with it.
 */
function httpModule(protocol: string): HttpModule {
  return process.getBuiltinModule(protocol === 'https:' ? 'node:https' : 'node:http') as HttpModule;
}

/** The signal's reason (a TimeoutError for AbortSignal.timeout), or `fallback` when it did not fire. */
function abortedOr(signal: AbortSignal, fallback: unknown): unknown {
  return signal.aborted ? signal.reason : fallback;
}

/**
 * HTTP over Node's http/https modules and their global keep-alive agents, instead of the global
 * fetch (the Datadog client, the raw archive's put): the first fetch of a process loads undici,
 * about 45 ms of CPU that a cold container would pay before its first case (`npm run bench`: cold
 * start). Errors are Node's (`ECONNREFUSED`, `ECONNRESET`, ...: the code on the error itself); the
 * signal's reason when it fired.
 */
export const nodeHttpFetch: HttpFetch = (url, init) =>
  new Promise<HttpResponse>((resolve, reject) => {
    const target = new URL(url);
    const headers: Record<string, string | number> = { ...init.headers };
    if (init.body !== undefined) headers['Content-Length'] = Buffer.byteLength(init.body);
    const req = httpModule(target.protocol).request(target, { method: init.method, headers, signal: init.signal }, (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      resolve({
        ok: status >= 200 && status < 300,
        status,
        headers: {
          get: (name) => {
            const value = res.headers[name.toLowerCase()];
            return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
          },
        },
        text: async () => {
          const chunks: Buffer[] = [];
          try {
            for await (const chunk of res) chunks.push(chunk as Buffer);
          } catch (error) {
            throw abortedOr(init.signal, error);
          }
          if (!res.complete) throw abortedOr(init.signal, Object.assign(new Error('the connection closed before the answer was complete'), { code: 'ECONNRESET' }));
          return Buffer.concat(chunks).toString('utf8');
        },
      });
    });
    req.on('error', (error) => reject(abortedOr(init.signal, error)));
    req.end(init.body);
  });
