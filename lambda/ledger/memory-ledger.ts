import { newIntent, newIntentId } from './intent-id.js';
import { sameVersion, swapped } from './swap.js';
import { ABANDONED_STATUS, DELIVERY_TTL_SECONDS, type DeliveryClaim, type AlertKey, type BeginCreateInput, type BeginCreateResult, type CommentMark, type FiringCount, type Ledger, type LedgerEntry } from './types.js';

function commentFields(comment: CommentMark | undefined): Partial<LedgerEntry> {
  return comment ? { lastCommentAt: comment.at, commentedOccurrences: comment.occurrences } : {};
}

/** In-process ledger for unit tests and the bench. Same semantics as DynamoLedger (one thread: every write is atomic). */
export class MemoryLedger implements Ledger {
  readonly entries = new Map<string, LedgerEntry>();
  /** `<source>#<deliveryId>` -> expiry (ms). */
  readonly deliveries = new Map<string, number>();
  /** `<source>#<deliveryId>` -> when its claim was taken (ms): claimed, outcome not stored yet. */
  readonly pendingDeliveries = new Map<string, number>();
  /** `<source>#<identity>` -> the firings counted toward its occurrence threshold (issue 17). */
  readonly firingCounts = new Map<string, FiringCount>();

  private static id(source: string, identity: string): string {
    return `${source}#${identity}`;
  }

  private put(entry: LedgerEntry): LedgerEntry {
    this.entries.set(MemoryLedger.id(entry.source, entry.identity), entry);
    return entry;
  }

  /** A write other than an occurrence count: the entry's version moves on, so a swap read before it fails (as DynamoLedger's ADD rev). */
  private write(entry: LedgerEntry): LedgerEntry {
    return this.put({ ...entry, rev: (entry.rev ?? 0) + 1 });
  }

  async get(source: string, identity: string): Promise<LedgerEntry | undefined> {
    return this.entries.get(MemoryLedger.id(source, identity));
  }

  async beginCreate(input: BeginCreateInput): Promise<BeginCreateResult> {
    const existing = this.entries.get(MemoryLedger.id(input.source, input.identity));
    const replaceable =
      existing !== undefined && input.replacing !== undefined && existing.state === 'closed' && existing.caseId === input.replacing.caseId && existing.generation === input.replacing.generation;
    if (existing !== undefined && !replaceable) return { won: false, entry: existing };
    return { won: true, entry: this.put(newIntent(input)) };
  }

  async takeOverCreate(key: AlertKey, staleIntentId: string, now: number): Promise<BeginCreateResult> {
    const existing = this.entries.get(MemoryLedger.id(key.source, key.identity));
    if (existing === undefined) throw new Error(`no ledger entry for ${key.source} ${key.identity}`);
    if (existing.state !== 'creating' || existing.intentId !== staleIntentId) return { won: false, entry: existing };
    return { won: true, entry: this.write({ ...existing, intentId: newIntentId(), createStartedAt: now }) };
  }

  async completeCreate(key: AlertKey, intentId: string, created: { caseId: string; caseKey: string | undefined }, now: number): Promise<LedgerEntry | undefined> {
    const existing = this.entries.get(MemoryLedger.id(key.source, key.identity));
    if (existing?.state !== 'creating' || existing.intentId !== intentId) return undefined;
    return this.write({ ...existing, state: 'open', caseId: created.caseId, caseKey: created.caseKey, openedAt: now });
  }

  async abandonCreate(key: AlertKey, intentId: string): Promise<boolean> {
    const id = MemoryLedger.id(key.source, key.identity);
    const existing = this.entries.get(id);
    if (existing?.state !== 'creating' || existing.intentId !== intentId) return false;
    if (existing.generation === 0) return this.entries.delete(id);
    this.write({ ...existing, state: 'closed', closedBy: 'bridge', closedStatus: ABANDONED_STATUS, ambiguousIntentId: undefined });
    return true;
  }

  async recordOccurrence(key: AlertKey, at: number, firingAt?: number): Promise<LedgerEntry | undefined> {
    const existing = this.entries.get(MemoryLedger.id(key.source, key.identity));
    if (existing === undefined) return undefined;
    const lastFiringAt = firingAt !== undefined && (existing.lastFiringAt === undefined || existing.lastFiringAt < firingAt) ? firingAt : existing.lastFiringAt;
    return this.put({ ...existing, occurrences: existing.occurrences + 1, lastSeen: at, lastFiringAt });
  }

  async markCommented(key: AlertKey, mark: CommentMark & { caseId: string; previousCommentAt: number | undefined }): Promise<boolean> {
    const existing = this.entries.get(MemoryLedger.id(key.source, key.identity));
    if (existing === undefined || existing.caseId !== mark.caseId || existing.lastCommentAt !== mark.previousCommentAt) return false;
    this.write({ ...existing, ...commentFields(mark) });
    return true;
  }

  async markResolved(key: AlertKey, change: { caseId: string; at: number; comment?: CommentMark }): Promise<boolean> {
    const existing = this.entries.get(MemoryLedger.id(key.source, key.identity));
    if (existing?.state !== 'open' || existing.caseId !== change.caseId) return false;
    this.write({ ...existing, state: 'resolved', resolvedAt: change.at, ...commentFields(change.comment) });
    return true;
  }

  async markClosed(key: AlertKey, change: { caseId: string; at: number; by: 'bridge' | 'human'; status: string; comment?: CommentMark }): Promise<boolean> {
    const existing = this.entries.get(MemoryLedger.id(key.source, key.identity));
    if (existing === undefined || existing.caseId !== change.caseId) return false;
    const allowed = change.by === 'bridge' ? existing.state === 'open' || existing.state === 'resolved' : existing.state !== 'creating';
    if (!allowed) return false;
    this.write({ ...existing, state: 'closed', closedAt: change.at, closedBy: change.by, closedStatus: change.status, ...commentFields(change.comment) });
    return true;
  }

  async markReopened(key: AlertKey, change: { caseId: string; at: number; from: 'closed' | 'resolved'; comment?: CommentMark }): Promise<boolean> {
    const existing = this.entries.get(MemoryLedger.id(key.source, key.identity));
    if (existing?.state !== change.from || existing.caseId !== change.caseId) return false;
    const { closedAt: _c, closedBy: _b, closedStatus: _s, resolvedAt: _r, ...rest } = existing;
    this.write({ ...rest, state: 'open', openedAt: change.at, reopenCount: existing.reopenCount + (change.from === 'closed' ? 1 : 0), ...commentFields(change.comment) });
    return true;
  }

  async rememberDelivery(source: string, deliveryId: string, now: number, ttlSeconds: number = DELIVERY_TTL_SECONDS): Promise<boolean> {
    const id = `${source}#${deliveryId}`;
    const expires = this.deliveries.get(id);
    if (expires !== undefined && expires > now) return false;
    this.deliveries.set(id, now + ttlSeconds * 1000);
    return true;
  }

  async forgetDelivery(source: string, deliveryId: string): Promise<void> {
    this.deliveries.delete(`${source}#${deliveryId}`);
    this.pendingDeliveries.delete(`${source}#${deliveryId}`);
  }

  async markCreateAmbiguous(key: AlertKey, intentId: string): Promise<boolean> {
    const existing = this.entries.get(MemoryLedger.id(key.source, key.identity));
    if (existing?.state !== 'creating' || existing.intentId !== intentId) return false;
    this.write({ ...existing, ambiguousIntentId: intentId });
    return true;
  }

  async swap(before: LedgerEntry | undefined, after: LedgerEntry): Promise<boolean> {
    const current = this.entries.get(MemoryLedger.id(after.source, after.identity));
    if (before === undefined ? current !== undefined : current === undefined || !sameVersion(current, before)) return false;
    this.put(swapped(before, after, current));
    return true;
  }

  async claimDelivery(source: string, deliveryId: string, now: number, staleMs: number): Promise<DeliveryClaim> {
    const id = `${source}#${deliveryId}`;
    const expires = this.deliveries.get(id);
    if (expires !== undefined && expires > now) return 'done';
    const started = this.pendingDeliveries.get(id);
    if (started !== undefined && now - started < staleMs) return 'in_progress';
    this.pendingDeliveries.set(id, now);
    return 'claimed';
  }

  async finishDelivery(source: string, deliveryId: string, now: number, ttlSeconds: number = DELIVERY_TTL_SECONDS): Promise<void> {
    const id = `${source}#${deliveryId}`;
    this.pendingDeliveries.delete(id);
    this.deliveries.set(id, now + ttlSeconds * 1000);
  }

  async countFiring(key: AlertKey, firing: { key: string; at: number }, windowMs: number): Promise<FiringCount> {
    const id = MemoryLedger.id(key.source, key.identity);
    const current = this.firingCounts.get(id);
    // As DynamoLedger: the key is set unless present (its first time is kept), then the stale firings are dropped.
    const all: Record<string, number> = { ...current?.firings, [firing.key]: current?.firings[firing.key] ?? firing.at };
    const firings: Record<string, number> = {};
    for (const [k, at] of Object.entries(all)) if (at >= firing.at - windowMs) firings[k] = at;
    const next = { firings, resetAt: current?.resetAt };
    this.firingCounts.set(id, next);
    return next;
  }

  async resetFirings(key: AlertKey, through: number): Promise<FiringCount | undefined> {
    const id = MemoryLedger.id(key.source, key.identity);
    const current = this.firingCounts.get(id);
    if (current === undefined || (current.resetAt !== undefined && current.resetAt >= through)) return undefined;
    this.firingCounts.set(id, { firings: Object.fromEntries(Object.entries(current.firings).filter(([, at]) => at > through)), resetAt: through });
    return current;
  }
}
