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
const AUTH_VALUE = /^(Bearer|Basic|Token|Digest)\s+\S+/i;
export const REDACTED = '[REDACTED]';

function redact(value: unknown, depth: number): unknown {
  if (depth > 8) return '[…]';
  if (typeof value === 'string') {
    return AUTH_VALUE.test(value) ? `${value.split(/\s+/, 1)[0]} ${REDACTED}` : value;
  }
  if (value instanceof Error) {
    return {
      name: value.name,
      message: value.message,
      ...(value.cause !== undefined ? { cause: redact(value.cause, depth + 1) } : {}),
    };
  }
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = SECRET_KEY.test(k) ? REDACTED : redact(v, depth + 1);
    }
    return out;
  }
  return value;
}

export function createLogger(options: {
  level?: LogLevel;
  /** Where lines go; defaults to stdout. Tests capture lines here. */
  write?: (line: string) => void;
  fields?: Record<string, unknown>;
  now?: () => Date;
} = {}): Logger {
  const min = LEVELS[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const now = options.now ?? (() => new Date());
  const base = options.fields ?? {};
  const emit = (level: LogLevel, message: string, fields?: Record<string, unknown>): void => {
    if (LEVELS[level] < min) return;
    const line = redact({ level, time: now().toISOString(), message, ...base, ...fields }, 0);
    write(JSON.stringify(line));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }),
  };
}

/** A logger that drops everything (benchmarks). */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
