import { ConfigError } from '../shared/errors.js';
import * as z from '../shared/zod.js';

const Url = z.string().check(z.url());

/** The queue URLs the retry function (and the ingest function, once wired) read; not in EnvSchema. */
export const QueueEnvSchema = z.object({
  /** URL of the SQS retry queue. */
  CASE_BRIDGE_RETRY_QUEUE_URL: Url,
  /** URL of the SQS dead-letter queue. */
  CASE_BRIDGE_DLQ_URL: Url,
});
export type QueueEnv = z.infer<typeof QueueEnvSchema>;

export function parseQueueEnv(env: NodeJS.ProcessEnv = process.env): QueueEnv {
  const parsed = QueueEnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(`environment is invalid:\n  ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n  ')}`, { cause: parsed.error });
  }
  return parsed.data;
}
