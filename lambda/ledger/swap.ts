import type { LedgerEntry } from './types.js';

/**
 * The condition of swap() (issue 13), shared by both ledgers: the stored entry is still the one read.
 * With `rev`, the version; for an entry written before `rev` existed, the fields every transition of
 * that version changed (state, intent, case, generation, last comment).
 */
export function sameVersion(current: LedgerEntry, before: LedgerEntry): boolean {
  if (before.rev !== undefined) return current.rev === before.rev;
  return (
    current.rev === undefined &&
    current.state === before.state &&
    current.intentId === before.intentId &&
    current.caseId === before.caseId &&
    current.generation === before.generation &&
    current.lastCommentAt === before.lastCommentAt
  );
}

/** What swap() stores: `after` with the next rev, and the occurrences counted meanwhile kept (ADD). */
export function swapped(before: LedgerEntry | undefined, after: LedgerEntry, current: LedgerEntry | undefined): LedgerEntry {
  const added = after.occurrences - (before?.occurrences ?? 0);
  return {
    ...after,
    rev: (before?.rev ?? 0) + 1,
    occurrences: (current?.occurrences ?? 0) + added,
    lastSeen: Math.max(after.lastSeen, current?.lastSeen ?? 0),
    lastFiringAt: maxDefined(after.lastFiringAt, current?.lastFiringAt),
  };
}

function maxDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.max(a, b);
}
