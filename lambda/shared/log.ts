/**
 * Structured JSON logs. Every value whose key looks like a credential is replaced before it is
 * written, and strings that look like an Authorization value are cut to their scheme.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** A logger whose lines all carry `fields` (e.g. the delivery id). */
  child(fields: Record<string, unknown>): Logger;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_KEY = /secret|token|password|passwd|authorization|api[-_]?key|app[-_]?key|application[-_]?key|signature|cookie|credential/i;
// Anywhere in a string (an error message may quote a header), not only at its start.
const AUTH_VALUE = /\b(Bearer|Basic|Token|Digest)\s+[^\s"',;]+/gi;
export const REDACTED = '[REDACTED]';

/**
 * `value` with credential-looking keys replaced and Authorization-looking strings cut to their
 * scheme. An error becomes its name, message and cause chain, each redacted (never its stack or its
 * other own fields: test/e2e/log-redaction.test.ts); a bigint its digits, a date its ISO string.
 */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[…]';
  if (typeof value === 'string') {
    return value.replace(AUTH_VALUE, (_m, scheme: string) => `${scheme} ${REDACTED}`);
  }
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) {
    return {
      name: value.name,
      message: redact(value.message, depth + 1),
      ...(value.cause !== undefined ? { cause: redact(value.cause, depth + 1) } : {}),
    };
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(obj)) {
      out[k] = isSecretKey(k) ? REDACTED : redact(obj[k], depth + 1);
    }
    return out;
  }
  return value;
}

/** SECRET_KEY's answer per key: log lines carry the same few field names every time, and the pattern cost more than copying the field. */
const secretKeys = new Map<string, boolean>();

/**
 * Whether a field named `key` holds a credential (its value is then never written). Kept per key; at
 * most 512 keys are kept (keys of logged data cannot grow it): past that they are forgotten and tested again.
 */
export function isSecretKey(key: string): boolean {
  let secret = secretKeys.get(key);
  if (secret === undefined) {
    secret = SECRET_KEY.test(key);
    if (secretKeys.size >= 512) secretKeys.clear();
    secretKeys.set(key, secret);
  }
  return secret;
}

export function createLogger(options: {
  level?: LogLevel;
  /** Where lines go; defaults to stdout. Tests capture lines here. */
  write?: (line: string) => void;
  fields?: Record<string, unknown>;
  now?: () => Date;
} = {}): Logger {
  return new JsonLogger(
    LEVELS[options.level ?? 'info'],
    options.write ?? ((line: string) => process.stdout.write(`${line}\n`)),
    options.now ?? (() => new Date()),
    options.fields ?? {},
  );
}

/** The four level methods of every Logger; implementations write one line in `emit`. */
export abstract class LevelLogger implements Logger {
  protected abstract emit(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
  abstract child(fields: Record<string, unknown>): Logger;

  debug(message: string, fields?: Record<string, unknown>): void {
    this.emit('debug', message, fields);
  }

  info(message: string, fields?: Record<string, unknown>): void {
    this.emit('info', message, fields);
  }

  warn(message: string, fields?: Record<string, unknown>): void {
    this.emit('warn', message, fields);
  }

  error(message: string, fields?: Record<string, unknown>): void {
    this.emit('error', message, fields);
  }
}

/** A class rather than closures: the handler makes a child per request, which is then one object. */
class JsonLogger extends LevelLogger {
  constructor(
    private readonly min: number,
    private readonly write: (line: string) => void,
    private readonly now: () => Date,
    private readonly base: Record<string, unknown>,
  ) {
    super();
  }

  protected emit(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
    if (LEVELS[level] < this.min) return;
    const line = redact({ level, time: this.now().toISOString(), message, ...this.base, ...fields }, 0);
    this.write(JSON.stringify(line));
  }


  child(fields: Record<string, unknown>): Logger {
    return new JsonLogger(this.min, this.write, this.now, { ...this.base, ...fields });
  }
}

/** A logger that drops everything (benchmarks). */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
