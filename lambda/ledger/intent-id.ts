import { randomBytes } from 'node:crypto';
import { dedupMarker } from './marker.js';
import type { BeginCreateInput, LedgerEntry } from './types.js';

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

/**
 * The first entry of a create intent (shared by both implementations). Every field is present
 * (undefined when unset) so that all entries share one object shape: a conditional spread here made
 * each entry a slow dictionary object and cost more than the rest of the in-memory ledger call.
 */
export function newIntent(input: BeginCreateInput, intentId: string = newIntentId()): LedgerEntry {
  const generation = input.replacing ? input.replacing.generation + 1 : 0;
  return {
    source: input.source,
    identity: input.identity,
    state: 'creating',
    generation,
    marker: dedupMarker(input.source, input.identity, generation),
    intentId,
    createStartedAt: input.now,
    caseId: undefined,
    caseKey: undefined,
    rule: input.rule,
    firstSeen: input.replacing?.firstSeen ?? input.now,
    lastSeen: input.now,
    occurrences: 1,
    commentedOccurrences: 1,
    openedAt: undefined,
    lastCommentAt: undefined,
    resolvedAt: undefined,
    closedAt: undefined,
    closedBy: undefined,
    closedStatus: undefined,
    reopenCount: 0,
    ambiguousIntentId: undefined,
  };
}
