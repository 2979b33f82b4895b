import { randomBytes } from 'node:crypto';

let prefix: string | undefined;
let counter = 0;

/**
 * A new create intent's owner token (LedgerEntry.intentId): unique, not secret. It only has to
 * differ between any two claims of one alert, so it is a random 96-bit prefix per process (made on
 * first use, not at load: a snapshot taken after init would otherwise share it) and a counter.
 * randomUUID costs 1-2 us a webhook on the hot path here; this costs a string concatenation.
 */
export function newIntentId(): string {
  prefix ??= randomBytes(12).toString('base64url');
  counter += 1;
  return `${prefix}.${counter.toString(36)}`;
}
