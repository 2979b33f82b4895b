/**
 * The Lambda entries' Logger: one JSON line per call, in the shape Powertools Logger with our
 * formatter wrote before (issue 15): `level` (DEBUG, INFO, WARN, ERROR), `message`, `timestamp`
 * (ISO 8601 in UTC, Lambda's `TZ`), `service` (`case-bridge`), `function_request_id` after
 * `addContext`, `cold_start: true` on every line of a container's first invocation, then the fields,
 * with the delivery id also as `correlation_id`. Our redaction applies to the message and every field.
 * Local runs keep createLogger (log.ts).
 *
 * Written by hand rather than with Powertools Logger because measured better (`npm run bench --
 * --no-storm --stages`, issue 15, three runs each): the delivery line 2.8–3.0 us instead of 7.2–8.7 us,
 * and, with the EMF writer in ./metrics.ts, the ingest bundle 225.2 KB at start instead of 259.1 KB
 * (Powertools' logger 17.4 KB, metrics 11.8 KB, commons 3.7 KB, invoke store 2.2 KB). The line is
 * the same: test/shared/powertools-reference.test.ts feeds the same calls to Powertools (a
 * devDependency for that test only) and to this logger, and compares the lines key for key.
 *
 * What it keeps of Powertools' behaviour: the level is `LOG_LEVEL` unless Lambda's application log
 * level (advanced logging controls, `AWS_LAMBDA_LOG_LEVEL`, set with the JSON log format) is given,
 * which then governs, with one WARN line when it is less verbose than `LOG_LEVEL`; `cold_start` only
 * when Lambda says the container was started on demand (`AWS_LAMBDA_INITIALIZATION_TYPE`); the fields
 * named like the line's own keys (level, message, sampling_rate, service, timestamp) are dropped,
 * and so are top-level fields that are undefined, null or ''. ERROR lines go to stderr, the others to
 * stdout (Powertools wrote WARN lines to stderr too; in Lambda both streams are the same log, so only
 * the stream of a local run differs). What it drops: Powertools' sampling, buffering, log-event and
 * pretty-printing switches, which the stack never set.
 */
import type { Context } from 'aws-lambda';
import { isSecretKey, LevelLogger, REDACTED, redact, type Logger, type LogLevel } from './log.js';

export const LOG_SERVICE = 'case-bridge';

/** Powertools' numeric levels (its LogLevelThreshold), which Lambda's application log level maps onto. */
const THRESHOLD = { TRACE: 6, DEBUG: 8, INFO: 12, WARN: 16, ERROR: 20, CRITICAL: 24 } as const;
type LevelName = keyof typeof THRESHOLD;
const NAME: Record<LogLevel, 'DEBUG' | 'INFO' | 'WARN' | 'ERROR'> = { debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' };
/** Keys of the line itself; a field of the same name is dropped (as Powertools did). */
const RESERVED = new Set(['level', 'message', 'sampling_rate', 'service', 'timestamp']);

/** Where a line goes: ERROR lines to stderr, the others to stdout; never throws (a closed stream drops the line). */
export type LineWriter = (line: string, level: LogLevel) => void;

const stdWrite: LineWriter = (line, level) => {
  try {
    (level === 'error' ? process.stderr : process.stdout).write(`${line}\n`);
  } catch {
    // Logging never fails a webhook.
  }
};

/**
 * The threshold of a logger configured at `configured`: Lambda's application log level
 * (`AWS_LAMBDA_LOG_LEVEL`: TRACE, DEBUG, INFO, WARN, ERROR or FATAL) when set, else `configured`,
 * and the warning Powertools gave when the two disagree in the direction that loses lines.
 */
export function resolveLogLevel(configured: LogLevel, env: Readonly<Record<string, string | undefined>> = process.env): { threshold: number; warning?: string } {
  const lambda = env['AWS_LAMBDA_LOG_LEVEL'];
  const alc = lambda === 'FATAL' ? 'CRITICAL' : lambda;
  if (alc === undefined || !Object.hasOwn(THRESHOLD, alc)) return { threshold: THRESHOLD[NAME[configured]] };
  const threshold = THRESHOLD[alc as LevelName];
  if (threshold <= THRESHOLD[NAME[configured]]) return { threshold };
  return {
    threshold,
    warning: `Current log level (${NAME[configured]}) does not match AWS Lambda Advanced Logging Controls minimum log level (${alc}). This can lead to data loss, consider adjusting them.`,
  };
}

/** What every logger of one entry shares: the level, the writer and the current invocation. */
interface Shared {
  readonly threshold: number;
  readonly write: LineWriter;
  readonly now: () => Date;
  readonly onDemand: boolean;
  invocations: number;
  requestId: string | undefined;
  coldStart: boolean;
}

export interface LambdaLogger extends Logger {
  /** The invocation's context: its request id on every line from now on, and whether this is the container's first. */
  addContext(context: Pick<Context, 'awsRequestId'>): void;
}

export function createLambdaLogger(
  options: {
    level?: LogLevel;
    fields?: Record<string, unknown>;
    /** Tests capture lines here; defaults to stdout (stderr for ERROR). */
    write?: LineWriter;
    now?: () => Date;
    /** Defaults to process.env: AWS_LAMBDA_LOG_LEVEL and AWS_LAMBDA_INITIALIZATION_TYPE. */
    env?: Readonly<Record<string, string | undefined>>;
  } = {},
): LambdaLogger {
  const env = options.env ?? process.env;
  const { threshold, warning } = resolveLogLevel(options.level ?? 'info', env);
  const shared: Shared = {
    threshold,
    write: options.write ?? stdWrite,
    now: options.now ?? (() => new Date()),
    onDemand: env['AWS_LAMBDA_INITIALIZATION_TYPE']?.trim() === 'on-demand',
    invocations: 0,
    requestId: undefined,
    coldStart: false,
  };
  const logger = new JsonLinesLogger(shared, options.fields ?? {});
  if (warning !== undefined) logger.warn(warning);
  return logger;
}

class JsonLinesLogger extends LevelLogger implements LambdaLogger {
  constructor(
    private readonly shared: Shared,
    private readonly base: Record<string, unknown>,
  ) {
    super();
  }

  addContext(context: Pick<Context, 'awsRequestId'>): void {
    const s = this.shared;
    s.requestId = context.awsRequestId;
    s.coldStart = s.onDemand && s.invocations++ === 0;
  }

  protected emit(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
    const s = this.shared;
    const name = NAME[level];
    if (THRESHOLD[name] < s.threshold) return;
    const line: Record<string, unknown> = { level: name };
    if (message !== '') line['message'] = redact(message);
    line['timestamp'] = s.now().toISOString();
    line['service'] = LOG_SERVICE;
    if (s.requestId !== undefined && s.requestId !== '') line['function_request_id'] = s.requestId;
    if (s.coldStart) line['cold_start'] = true;
    addFields(line, fields === undefined ? this.base : { ...this.base, ...fields });
    const deliveryId = line['deliveryId'];
    if (typeof deliveryId === 'string' && deliveryId !== '') line['correlation_id'] = deliveryId;
    s.write(JSON.stringify(line), level);
  }

  child(fields: Record<string, unknown>): Logger {
    return new JsonLinesLogger(this.shared, { ...this.base, ...fields });
  }
}

/** `fields` into `line`, redacted, without the reserved keys and the empty values. */
function addFields(line: Record<string, unknown>, fields: Record<string, unknown>): void {
  for (const key in fields) {
    if (!Object.hasOwn(fields, key) || RESERVED.has(key)) continue;
    const value = fields[key];
    if (value === undefined || value === null || value === '') continue;
    line[key] = isSecretKey(key) ? REDACTED : redact(value, 1);
  }
}
