import { SOURCES, type SourceName } from '../sources/index.js';

export interface SignOptions {
  readonly source: SourceName;
  /** The source's settings, raw (`{}` gets the defaults) or already parsed. */
  readonly settings?: object;
  /** The secret value (token, HMAC secret, `user:pass` for basic). */
  readonly secret: string;
  /** The exact bytes that will be sent. */
  readonly body: string | Buffer;
  /** Headers to send along (the sample's `.headers.json`); signature headers are added to a copy. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Signing time, Unix seconds (timestamped schemes). @default now */
  readonly now?: number;
}

/**
 * Returns the headers a real sender would send with `body`: the given headers plus the signature or
 * credential headers of `source`, built with `secret` and the source's settings (defaults filled by
 * its settings schema). Used by the tests, `npm run send` and the benchmark.
 */
export function signRequest(options: SignOptions): Record<string, string> {
  const out: Record<string, string> = { ...options.headers };
  const headers = {
    get(name: string): string | undefined {
      for (const [key, value] of Object.entries(out)) if (key.toLowerCase() === name.toLowerCase()) return value;
      return undefined;
    },
    /** Sets `name`, replacing any header of the same name in another case. */
    set(name: string, value: string): void {
      for (const key of Object.keys(out)) if (key.toLowerCase() === name.toLowerCase()) delete out[key];
      out[name] = value;
    },
  };
  // Each source signs as its sender does (its `sign`, beside its `verify`).
  SOURCES[options.source].sign(options.body, { rawSettings: options.settings ?? {}, secret: options.secret, now: Math.floor(options.now ?? Date.now() / 1000), headers });
  return out;
}
