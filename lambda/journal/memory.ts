import {
  archivableHeaders,
  archiveKey,
  DEFAULT_LIST_LIMIT,
  matchesFilter,
  newestFirst,
  parseArchiveKey,
  type Archive,
  type ArchivedDelivery,
  type ArchiveEntry,
  type ArchiveFilter,
  type ArchiveItem,
  type DeliveryFilter,
  type DeliveryJournal,
  type DeliveryRecord,
} from './types.js';

/** The journal in one process's memory (tests, and a plain `npm start` without a ledger emulator). */
export class MemoryJournal implements DeliveryJournal {
  readonly records = new Map<string, DeliveryRecord>();

  constructor(private readonly now: () => number = Date.now) {}

  async update(id: string, change: (current: DeliveryRecord | undefined) => DeliveryRecord | undefined): Promise<DeliveryRecord | undefined> {
    const next = change(this.records.get(id));
    if (next !== undefined) this.records.set(id, structuredClone(next));
    return next;
  }

  async get(id: string): Promise<DeliveryRecord | undefined> {
    const found = this.records.get(id);
    return found === undefined ? undefined : structuredClone(found);
  }

  async list(filter: DeliveryFilter): Promise<DeliveryRecord[]> {
    const now = this.now();
    return [...this.records.values()]
      .filter((r) => matchesFilter(r, filter, now))
      .sort(newestFirst)
      .slice(0, filter.limit ?? DEFAULT_LIST_LIMIT)
      .map((r) => structuredClone(r));
  }
}

/** The archive in one process's memory (tests). */
export class MemoryArchive implements Archive {
  readonly objects = new Map<string, ArchivedDelivery>();

  constructor(private readonly now: () => number = Date.now) {}

  async put(entry: ArchiveEntry): Promise<{ key: string }> {
    const key = archiveKey(entry.source, entry.receivedAt, entry.id);
    this.objects.set(key, { ...entry, key, body: Uint8Array.from(entry.body), headers: archivableHeaders(entry.headers) });
    return { key };
  }

  async get(key: string): Promise<ArchivedDelivery | undefined> {
    return this.objects.get(key);
  }

  async list(filter: ArchiveFilter): Promise<ArchiveItem[]> {
    const until = filter.until ?? this.now() + 1;
    return [...this.objects.values()]
      .filter((o) => (filter.source === undefined || o.source === filter.source) && o.receivedAt >= filter.since && o.receivedAt < until && parseArchiveKey(o.key) !== undefined)
      .sort((a, b) => a.receivedAt - b.receivedAt || (a.key < b.key ? -1 : 1))
      .slice(0, filter.limit ?? 1000)
      .map((o) => ({ key: o.key, source: o.source, id: o.id, receivedAt: o.receivedAt, size: o.body.length }));
  }
}
