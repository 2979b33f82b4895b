import * as z from './zod.js';
import { DATADOG_TIMEOUT_MS } from './budgets.js';
import { ConfigError } from './errors.js';

const Int = (min: number, max: number) => z.coerce.number().check(z.int(), z.minimum(min), z.maximum(max));
const Bool = z.pipe(z.enum(['true', 'false', '1', '0', '']), z.transform((v) => v === 'true' || v === '1'));

/** Every environment variable the bridge reads, parsed once. */
export const EnvSchema = z.object({
  /** Secrets Manager secret name or ARN (in AWS). */
  CASE_BRIDGE_SECRET_ID: z.optional(z.string().check(z.minLength(1))),
  /** Local: JSON file with the same key/value object as the secret. */
  CASE_BRIDGE_SECRETS_FILE: z.optional(z.string().check(z.minLength(1))),
  /** Local: the JSON line `npm run state` prints; `npm start` then keeps its ledger and queues there. */
  CASE_BRIDGE_STATE: z.optional(z.string().check(z.minLength(1))),
  /** Local: where `npm run state` keeps them. @default .case-bridge/ */
  CASE_BRIDGE_STATE_DIR: z.optional(z.string().check(z.minLength(1))),
  /** Local: rules file. @default config/rules.yaml */
  CASE_BRIDGE_RULES: z.optional(z.string().check(z.minLength(1))),
  /** Largest accepted body in bytes. @default 1048576 */
  CASE_BRIDGE_MAX_BODY_BYTES: z._default(Int(1024, 10 * 1024 * 1024), 1024 * 1024),
  /** Never call Datadog, even with keys: answer with the request that would be sent. @default false */
  CASE_BRIDGE_DRY_RUN: z._default(Bool, false),
  /** Datadog site. @default datadoghq.com */
  DD_SITE: z.optional(z.string().check(z.minLength(1))),
  /** Overrides the API base URL (tests, proxies). */
  DD_API_URL: z.optional(z.string().check(z.minLength(1))),
  /** Deadline of each Datadog call in ms. @default 5000 */
  DD_TIMEOUT_MS: z._default(Int(100, 60_000), DATADOG_TIMEOUT_MS),
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
