import { randomFillSync } from 'node:crypto';
import { BridgeError } from '../shared/errors.js';
import * as z from '../shared/zod.js';
import { utcDay } from '../shared/time.js';

/**
 * The delivery journal and the raw archive (issue 16): what happened to every webhook, and its exact
 * bytes. Deployed: a DynamoDB table (lambda/journal/dynamo-journal.ts) and an S3 bucket
 * (lambda/journal/s3-archive.ts); in memory for tests (lambda/journal/memory.ts). Both are written
 * beside the webhook's own work and never decide it: a failed write is counted and logged, the
 * webhook is still handled (see lambda/journal/recorder.ts).
 */

/** The journal's store failed (the webhook is handled anyway; counted and logged). */
export class JournalError extends BridgeError {}

/** The archive's store failed (the webhook is handled anyway; counted and logged). */
export class ArchiveError extends BridgeError {}

/** How a delivery ended up (its latest state: the retry function moves `queued` on). */
export const DELIVERY_STATUSES = [
  'created',
  'duplicate',
  'deduplicated',
  'updated',
  'below_threshold', // counted toward a rule's open_after, no case yet
  'no_match',
  'ignored',
  'queued',
  'dead_lettered',
  'rejected',
  'dry_run',
  'ping',
  'handled', // an SNS subscription confirmed or ended: never a case
  'in_progress', // answered 503: another request holds the delivery id
  'error', // answered 5xx: not accepted, the sender sends it again
] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** `--status failed`: what an operator has to look at. */
export const FAILED_STATUSES: readonly DeliveryStatus[] = ['dead_lettered', 'rejected', 'error'];

/** One Datadog effect of a delivery and what became of it. */
export const ACTION_KINDS = ['create', 'comment', 'status', 'link', 'defer'] as const;
export const ACTION_OUTCOMES = ['done', 'queued', 'dead_lettered', 'pending', 'dropped'] as const;

const schemas = z.lazily(() => {
  const Ms = z.number().check(z.int(), z.nonnegative());
  const Text = z.string();
  const action = z.object({
    /** The outbox action's id (`cbu…`) when it has one. */
    id: z.optional(Text),
    kind: z.enum(ACTION_KINDS),
    /** comment / close / reopen for updates. */
    purpose: z.optional(Text),
    outcome: z.enum(ACTION_OUTCOMES),
    caseId: z.optional(Text),
    caseKey: z.optional(Text),
    /** The status set, or the comment's first line. */
    detail: z.optional(Text),
    /** queued: the retry delay; dead_lettered / queued: Datadog's answer or the bridge's reason. */
    retryInSeconds: z.optional(Ms),
    reason: z.optional(Text),
    /** When this outcome was recorded (ms). */
    at: Ms,
    /** Recorded by the retry function (or a later delivery that finished this one's work). */
    later: z.optional(z.boolean()),
  });
  const event = z.object({
    type: Text,
    identity: Text,
    /** The rule's identity when it replaced the event's (the ledger's key). */
    dedupIdentity: z.optional(Text),
    signal: Text,
    /** The rule that matched, or why none did (`noRule`). */
    rule: z.optional(Text),
    noRule: z.optional(Text),
    /** What the event came to and the lifecycle's reason (`repeat_coalesced`, `resolved_closed`…). */
    outcome: Text,
    reason: z.optional(Text),
    caseId: z.optional(Text),
    caseKey: z.optional(Text),
    actions: z.array(action),
  });
  const record = z.object({
    v: z.literal(1),
    /** The bridge's id of this delivery (`newDeliveryId`): one per request, also in the answer (`delivery`). */
    id: Text,
    source: Text,
    /** The sender's delivery id (X-GitHub-Delivery, webhook-id, …), when it sends one. */
    senderDeliveryId: z.optional(Text),
    /** ms */
    receivedAt: Ms,
    /** The HTTP answer. */
    answer: z.object({ status: z.number().check(z.int()), code: Text }),
    status: z.enum(DELIVERY_STATUSES),
    /** The signature or credential verified; `why` when not (the 401's message, never what was received). */
    verified: z.boolean(),
    why: z.optional(Text),
    /** The first event's type; all events with their identities. */
    eventType: z.optional(Text),
    identities: z.array(Text),
    events: z.array(event),
    /** Actions of this delivery finished later (by the retry function or another delivery). */
    followUps: z.optional(z.array(action)),
    /**
     * What was left out so that the record fits one DynamoDB item (fitRecord; a group of hundreds of
     * alerts, a delivery with many follow-ups): how many of the last events, identities and follow-ups.
     */
    omitted: z.optional(z.object({ events: z.optional(Ms), identities: z.optional(Ms), followUps: z.optional(Ms) })),
    /** Where the bytes are (`Archive.put`), or why they are not. */
    archiveKey: z.optional(Text),
    archiveError: z.optional(Text),
    /** This delivery is a replay of that one (issue 16, item 3). */
    replayOf: z.optional(Text),
    /** ms: the whole request; `work` the rules, ledger and Datadog part. */
    timings: z.object({ totalMs: Ms, workMs: z.optional(Ms) }),
    /** ms; the journal store's expiry is derived from receivedAt. */
    updatedAt: Ms,
  });
  return { record, action, event };
});

export type DeliveryRecord = z.infer<ReturnType<typeof schemas>['record']>;
export type DeliveryEvent = DeliveryRecord['events'][number];
export type DeliveryAction = z.infer<ReturnType<typeof schemas>['action']>;

/** A stored record (written by this or another version), checked; undefined when it is not one. */
export function readDeliveryRecord(json: unknown): DeliveryRecord | undefined {
  const parsed = schemas().record.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Largest record kept (UTF-8 bytes of its JSON): a DynamoDB item holds at most 400 KB, attribute
 * names and the index keys included, and CloudWatch Logs takes 256 KB per log line.
 */
export const JOURNAL_RECORD_MAX_BYTES = 200 * 1024;

/** Follow-ups kept in one record; later ones are counted (`omitted.followUps`) and still move its status. */
export const MAX_FOLLOW_UPS = 100;

const bytesOf = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), 'utf8');

/** The JSON of records already written out once (records are never changed after they are made: each change makes a new one). */
const jsonOfRecord = new WeakMap<DeliveryRecord, string>();

/**
 * `JSON.stringify(record)`, made once per record: the ingest's record is measured (fitRecord) when
 * it is made, measured again and then stored by the journal, and only the first of those writes it out.
 */
export function recordJson(record: DeliveryRecord): string {
  let json = jsonOfRecord.get(record);
  if (json === undefined) {
    json = JSON.stringify(record);
    jsonOfRecord.set(record, json);
  }
  return json;
}

/** The last items of `items` dropped until `over` bytes are gone (each costs its JSON and a comma). */
function dropFromEnd<T>(items: readonly T[], over: number): { kept: T[]; dropped: number } {
  let freed = 0;
  let keep = items.length;
  while (keep > 0 && freed < over) {
    keep -= 1;
    freed += bytesOf(items[keep]) + 1;
  }
  return { kept: items.slice(0, keep), dropped: items.length - keep };
}

/**
 * The record as it fits in `maxBytes`: unchanged when it does; else its last events, then its last
 * identities, then its last follow-ups left out and counted in `omitted` (the first ones, the
 * answer, the status and the timings are always kept).
 */
export function fitRecord(record: DeliveryRecord, maxBytes: number = JOURNAL_RECORD_MAX_BYTES): DeliveryRecord {
  // Room for the `omitted` counts themselves.
  const budget = maxBytes - 128;
  let over = Buffer.byteLength(recordJson(record), 'utf8') - budget;
  if (over <= 0) return record;
  const omitted = { ...record.omitted };
  const events = dropFromEnd(record.events, over);
  over -= bytesOf(record.events) - bytesOf(events.kept);
  const identities = dropFromEnd(record.identities, Math.max(0, over));
  over -= bytesOf(record.identities) - bytesOf(identities.kept);
  const followUps = dropFromEnd(record.followUps ?? [], Math.max(0, over));
  if (events.dropped > 0) omitted.events = (omitted.events ?? 0) + events.dropped;
  if (identities.dropped > 0) omitted.identities = (omitted.identities ?? 0) + identities.dropped;
  if (followUps.dropped > 0) omitted.followUps = (omitted.followUps ?? 0) + followUps.dropped;
  return { ...record, events: events.kept, identities: identities.kept, ...(record.followUps !== undefined ? { followUps: followUps.kept } : {}), omitted };
}

/** Which deliveries `list` returns: newest first, at most `limit`. */
export interface DeliveryFilter {
  readonly source?: string | undefined;
  /** ms; received at or after. */
  readonly since: number;
  /** ms; received before. @default now */
  readonly until?: number | undefined;
  /** An event's identity or dedup identity. */
  readonly identity?: string | undefined;
  /** A status, or `failed` (FAILED_STATUSES). */
  readonly status?: DeliveryStatus | 'failed' | undefined;
  /** The sender's delivery id. */
  readonly senderDeliveryId?: string | undefined;
  /** @default 100 */
  readonly limit?: number | undefined;
}

export const DEFAULT_LIST_LIMIT = 100;

/**
 * One record per delivery. `update` is the only write: a read-modify-write that loses to no other
 * (the ingest's record and the retry function's follow-ups of the same delivery may race).
 */
export interface DeliveryJournal {
  /**
   * Applies `change` to the stored record (undefined when there is none) and stores its result;
   * `change` returning undefined writes nothing. `expectNew`: the record most likely does not exist
   * yet (the ingest's own write): the store tries a conditional create first, one round trip, and
   * reads only when that fails. Throws JournalError when the store fails.
   */
  update(id: string, change: (current: DeliveryRecord | undefined) => DeliveryRecord | undefined, options?: { readonly expectNew?: boolean }): Promise<DeliveryRecord | undefined>;
  get(id: string): Promise<DeliveryRecord | undefined>;
  list(filter: DeliveryFilter): Promise<DeliveryRecord[]>;
}

/** Does `record` pass `filter` (the stores query by source and time, then apply this)? */
export function matchesFilter(record: DeliveryRecord, filter: DeliveryFilter, now: number): boolean {
  if (filter.source !== undefined && record.source !== filter.source) return false;
  if (record.receivedAt < filter.since || record.receivedAt >= (filter.until ?? now + 1)) return false;
  if (filter.senderDeliveryId !== undefined && record.senderDeliveryId !== filter.senderDeliveryId) return false;
  if (filter.identity !== undefined && !record.identities.includes(filter.identity) && !record.events.some((e) => e.dedupIdentity === filter.identity)) return false;
  if (filter.status === 'failed') return FAILED_STATUSES.includes(record.status);
  return filter.status === undefined || record.status === filter.status;
}

/** Records in the order `list` returns them: newest first. */
export function newestFirst(a: DeliveryRecord, b: DeliveryRecord): number {
  return b.receivedAt - a.receivedAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/**
 * A new delivery id: `d` + the receive time (ms, base 36, 9 digits) + 10 hex digits of randomness,
 * so ids sort by time and name the day their archive key is under.
 */
export function newDeliveryId(receivedAt: number): string {
  return `d${receivedAt.toString(36).padStart(9, '0')}${randomHex10()}`;
}

/**
 * Random bytes for delivery ids, drawn from the system's generator 5 KB at a time: each id still
 * takes 5 bytes of its own, and a call into the generator per id cost more than the rest of the id.
 * Filled on first use, not at load (a snapshot taken after init would otherwise share them).
 */
const idEntropy = Buffer.alloc(5 * 1024);
let idEntropyAt = idEntropy.length;

function randomHex10(): string {
  if (idEntropyAt + 5 > idEntropy.length) {
    randomFillSync(idEntropy);
    idEntropyAt = 0;
  }
  const at = idEntropyAt;
  idEntropyAt += 5;
  return idEntropy.toString('hex', at, at + 5);
}

/** The receive time a delivery id names (ms), or undefined for an id not made by newDeliveryId. */
export function timeOfDeliveryId(id: string): number | undefined {
  if (!/^d[0-9a-z]{9}[0-9a-f]{10}$/.test(id)) return undefined;
  return Number.parseInt(id.slice(1, 10), 36);
}

// ---------------------------------------------------------------------------------------------
// The raw archive

/** What is archived of one delivery: the exact bytes and the headers without credentials. */
export interface ArchiveEntry {
  readonly source: string;
  /** The delivery id (newDeliveryId). */
  readonly id: string;
  /** ms */
  readonly receivedAt: number;
  readonly body: Uint8Array;
  /** Lower-case names; pass them through `archivableHeaders` first (the stores drop credentials again). */
  readonly headers: Readonly<Record<string, string>>;
  /** Not accepted (bad signature, malformed…): stored only with CASE_BRIDGE_ARCHIVE_REJECTED. */
  readonly rejected?: boolean | undefined;
}

export interface ArchivedDelivery extends ArchiveEntry {
  readonly key: string;
}

/** An archived delivery in a listing (no bytes). */
export interface ArchiveItem {
  readonly key: string;
  readonly source: string;
  readonly id: string;
  readonly receivedAt: number;
  readonly size: number;
}

export interface ArchiveFilter {
  readonly source?: string | undefined;
  /** ms */
  readonly since: number;
  /** ms @default now */
  readonly until?: number | undefined;
  /** @default 1000 */
  readonly limit?: number | undefined;
}

/** The exact bytes of deliveries, keyed `<source>/<YYYY-MM-DD>/<delivery id>` (archiveKey). */
export interface Archive {
  /** Stores the bytes and headers; returns the key. Throws ArchiveError when the store fails. */
  put(entry: ArchiveEntry): Promise<{ readonly key: string }>;
  /** By key (or by source and delivery id, whose day the id names). */
  get(key: string): Promise<ArchivedDelivery | undefined>;
  /** Oldest first, at most `limit`. */
  list(filter: ArchiveFilter): Promise<ArchiveItem[]>;
}

/** `<source>/<YYYY-MM-DD>/<id>` (UTC day of receipt). */
export function archiveKey(source: string, receivedAt: number, id: string): string {
  return `${source}/${utcDay(receivedAt)}/${id}`;
}

/** The parts of an archive key; undefined when it is not one. */
export function parseArchiveKey(key: string): { source: string; day: string; id: string } | undefined {
  const m = /^([a-z0-9-]+)\/(\d{4}-\d{2}-\d{2})\/([^/]+)$/.exec(key);
  return m === null ? undefined : { source: m[1]!, day: m[2]!, id: m[3]! };
}

/** The UTC days from `since` to `until` (inclusive), as archiveKey names them; at most `max`, the latest kept. */
export function daysBetween(since: number, until: number, max = 400): string[] {
  const days: string[] = [];
  const first = Date.UTC(new Date(since).getUTCFullYear(), new Date(since).getUTCMonth(), new Date(since).getUTCDate());
  for (let t = first; t <= until; t += 86_400_000) days.push(utcDay(t));
  return days.slice(-max);
}

/**
 * Header names that carry credentials and are never stored: the standard ones, and any whose name
 * says token, secret, password, api key, session or auth. Signature headers (an HMAC over the body)
 * are kept: they prove what the sender sent and cannot be reused for another body.
 */
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'x-amz-security-token', 'x-csrf-token']);
const CREDENTIAL_NAME = /token|secret|passw|api[-_]?key|session|auth|credential|cookie/i;

/**
 * The headers to archive: lower-case names, credentials dropped, and with `alsoDrop` (a source's
 * static credential header, e.g. Opsgenie's or a generic bearer header) dropped too.
 */
export function archivableHeaders(headers: Readonly<Record<string, string | undefined>>, alsoDrop: readonly string[] = []): Record<string, string> {
  const drop = alsoDrop.length === 0 ? undefined : new Set(alsoDrop.map((h) => h.toLowerCase()));
  const out: Record<string, string> = {};
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    const lower = name.toLowerCase();
    if (value === undefined || lower === '__proto__' || drop?.has(lower) === true || isCredentialName(lower)) continue;
    out[lower] = value;
  }
  return out;
}

/**
 * Whether a lower-case header name is a credential's (CREDENTIAL_HEADERS, CREDENTIAL_NAME), kept per
 * name: every delivery is archived with the same few names, twice (the handler, then the store), and
 * the pattern cost more than the rest of the copy. At most 256 names are kept (a sender's own names
 * cannot grow it): past that the names are forgotten and tested again.
 */
const credentialNames = new Map<string, boolean>();

function isCredentialName(lower: string): boolean {
  let credential = credentialNames.get(lower);
  if (credential === undefined) {
    credential = CREDENTIAL_HEADERS.has(lower) || CREDENTIAL_NAME.test(lower);
    if (credentialNames.size >= 256) credentialNames.clear();
    credentialNames.set(lower, credential);
  }
  return credential;
}
