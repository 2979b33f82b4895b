import { ARCHIVE_MODES, ENV } from './contract.js';
import * as z from './zod.js';
import { DATADOG_TIMEOUT_MS } from './budgets.js';
import { ConfigError } from './errors.js';

const Int = (min: number, max: number, overMax?: string) => z.coerce.number().check(z.int(), z.minimum(min), z.maximum(max, overMax === undefined ? undefined : { error: overMax }));
const Bool = z.pipe(z.enum(['true', 'false', '1', '0', '']), z.transform((v) => v === 'true' || v === '1'));
const Text = z.string().check(z.minLength(1));
const Url = z.string().check(z.url());

/** Every environment variable the bridge reads, parsed once (the Lambda entries, the local bridge, the tools). */
export const EnvSchema = z.object({
  /** Secrets Manager secret name or ARN (in AWS). */
  [ENV.secretId]: z.optional(Text),
  /** Local: JSON file with the same key/value object as the secret. */
  CASE_BRIDGE_SECRETS_FILE: z.optional(Text),
  /** Local: the JSON line `npm run state` prints; `npm start` then keeps its ledger and queues there. */
  CASE_BRIDGE_STATE: z.optional(Text),
  /** Local: where `npm run state` keeps them. @default .case-bridge/ */
  CASE_BRIDGE_STATE_DIR: z.optional(Text),
  /** Local: rules file. @default config/rules.yaml */
  CASE_BRIDGE_RULES: z.optional(Text),
  /** Largest accepted body in bytes. @default 1048576 */
  CASE_BRIDGE_MAX_BODY_BYTES: z._default(Int(1024, 10 * 1024 * 1024), 1024 * 1024),
  /** Never call Datadog, even with keys: answer with the request that would be sent. @default false */
  CASE_BRIDGE_DRY_RUN: z._default(Bool, false),
  /** URL of the SQS retry queue (in AWS). */
  [ENV.retryQueueUrl]: z.optional(Url),
  /** URL of the SQS dead-letter queue (in AWS). */
  [ENV.dlqUrl]: z.optional(Url),
  /** Name of the DynamoDB dedup ledger table (in AWS). */
  [ENV.ledgerTable]: z.optional(Text),
  /** Name of the DynamoDB delivery journal table (in AWS; none: no journal). */
  [ENV.journalTable]: z.optional(Text),
  /** Days a journal record is kept. @default 14 */
  [ENV.journalRetentionDays]: z._default(Int(1, 3650), 14),
  /** Name of the S3 raw archive bucket (in AWS; none: no archive). */
  [ENV.archiveBucket]: z.optional(Text),
  /** Archive rejected deliveries too (bad signature, malformed, too large…). @default false */
  [ENV.archiveRejected]: z._default(Bool, false),
  /** Which deliveries are archived: all, failed, off (the stack sets it from `-c archive`). @default all */
  [ENV.archiveMode]: z._default(z.enum(ARCHIVE_MODES), 'all'),
  /** Datadog site. @default datadoghq.com */
  [ENV.datadogSite]: z.optional(Text),
  /** Overrides the API base URL (tests, proxies). */
  DD_API_URL: z.optional(Text),
  /**
   * Deadline of each Datadog call in ms, at most DATADOG_TIMEOUT_MS: the outbox's claims, the
   * watchdog's delay and the guards' settle times are sized for a call of at most that long
   * (lambda/shared/budgets.ts); a longer call would outlive its claim, and another worker would send
   * its work again. @default 5000
   */
  DD_TIMEOUT_MS: z._default(Int(100, DATADOG_TIMEOUT_MS, `must be at most ${DATADOG_TIMEOUT_MS} (ms): the bridge's claims and guards are sized for a Datadog call of at most that long`), DATADOG_TIMEOUT_MS),
  /** Local server port. @default 3000 */
  PORT: z._default(Int(0, 65535), 3000),
  /** debug, info, warn, error. @default info */
  LOG_LEVEL: z._default(z.enum(['debug', 'info', 'warn', 'error']), 'info'),
});
export type Env = z.infer<typeof EnvSchema>;

export function parseEnv(env: NodeJS.ProcessEnv = process.env): Env {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(`environment is invalid:\n  ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n  ')}`, { cause: parsed.error });
  }
  return parsed.data;
}

/** The variables the stack sets on both functions (lib/), required in Lambda. */
const LAMBDA_REQUIRED = [ENV.secretId, ENV.retryQueueUrl, ENV.dlqUrl, ENV.ledgerTable] as const;
type LambdaRequired = (typeof LAMBDA_REQUIRED)[number];

/** The environment of a Lambda function: parseEnv, and what the stack sets (the secret, the queues, the ledger) present. */
export type LambdaEnv = Env & { readonly [K in LambdaRequired]-?: string };

export function parseLambdaEnv(env: NodeJS.ProcessEnv = process.env): LambdaEnv {
  const parsed = parseEnv(env);
  const missing = LAMBDA_REQUIRED.filter((name) => parsed[name] === undefined);
  if (missing.length > 0) throw new ConfigError(`${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set`);
  return parsed as LambdaEnv;
}
