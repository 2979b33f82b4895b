import type { CompiledRules } from '../mapping/compile-rules.js';
import { mapEventToCase } from '../mapping/map-event.js';
import { asReplay, decide } from '../lifecycle/decide.js';
import { eventTime } from '../lifecycle/event-time.js';
import { DEFAULT_LIFECYCLE_POLICY, type LifecyclePolicy } from '../lifecycle/policy.js';
import type { Ledger } from '../ledger/types.js';
import { isSourceName } from '../sources/index.js';
import { type Archive, type ArchivedDelivery, type DeliveryJournal, type DeliveryRecord, type DeliveryStatus } from '../journal/types.js';
import { BridgeError } from '../shared/errors.js';
import * as z from '../shared/zod.js';
import { parseJsonObject } from './parse-body.js';

/**
 * Replay (issue 16, item 3): archived deliveries run again through the CURRENT rules, each as a new
 * delivery (a new id, `replayOf` the original). The signature was verified when the delivery was
 * first received, and only deliveries that verified are replayed: a replay enters after verification,
 * trusted because its bytes are read from the archive (written only by the bridge). The dedup ledger
 * applies as to any delivery, so an alert that has its case gets no second one; the sender's delivery
 * id is not claimed again (a replay is a new delivery by design).
 *
 * Without `apply` nothing changes: each delivery is previewed, its events through the current rules
 * and the lifecycle's decision against the current ledger (read only; Datadog is not asked).
 *
 * One request shape everywhere: `npm run replay`, the console's replay button and the local bridge's
 * `POST /local/replay`, and the deployed ingest function's replay event (REPLAY_EVENT_KEY).
 */

/** The most deliveries one replay request takes. */
export const MAX_REPLAY = 200;

const schemas = z.lazily(() => {
  const Ms = z.number().check(z.int(), z.nonnegative());
  const request = z.strictObject({
    /** Delivery ids (the bridge's, `d…`); or a selection by source and time. */
    ids: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(64))).check(z.maxLength(MAX_REPLAY))),
    source: z.optional(z.string().check(z.maxLength(64))),
    since: z.optional(Ms),
    until: z.optional(Ms),
    /** Only deliveries whose status is a failure (FAILED_STATUSES). */
    failed: z.optional(z.boolean()),
    /** Run them; without it, a preview that changes nothing. */
    apply: z.boolean(),
  });
  return { request };
});

export type ReplayRequest = z.infer<ReturnType<typeof schemas>['request']>;

/** Thrown for a request that is not one (the local route answers 400, the CLI exits 2). */
export class ReplayRequestError extends BridgeError {}

/** A replay request (from JSON, an HTTP body or a Lambda event), checked. */
export function parseReplayRequest(json: unknown): ReplayRequest {
  const parsed = schemas().request.safeParse(json);
  if (!parsed.success) throw new ReplayRequestError(`not a replay request: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(request)'}: ${i.message}`).join('; ')}`);
  const r = parsed.data;
  if ((r.ids === undefined || r.ids.length === 0) && r.since === undefined) throw new ReplayRequestError('name delivery ids, or a time range (since)');
  if (r.ids !== undefined && r.ids.length > 0 && (r.since !== undefined || r.source !== undefined || r.failed !== undefined)) throw new ReplayRequestError('delivery ids or a selection (source, since, until, failed), not both');
  return r;
}

/** The deployed ingest function's replay event: `{ "caseBridgeReplay": <ReplayRequest> }` (lambda invoke, IAM only). */
export const REPLAY_EVENT_KEY = 'caseBridgeReplay';

export function isReplayEvent(event: unknown): event is { readonly [REPLAY_EVENT_KEY]: unknown } {
  return typeof event === 'object' && event !== null && !Array.isArray(event) && REPLAY_EVENT_KEY in event && !('routeKey' in event);
}

/** What one event of a previewed delivery would do. */
export interface ReplayEventPreview {
  readonly type: string;
  readonly identity: string;
  readonly signal: string;
  /** The rule that matches now, or why none does. */
  readonly rule?: string | undefined;
  readonly noRule?: string | undefined;
  /** The lifecycle's decision against the current ledger (`new_alert`, `repeat_coalesced`, …), or `ignored` / `no_match`. */
  readonly decision: string;
  /** The Datadog calls it would make: create, comment, close, reopen, defer; none: nothing changes. */
  readonly actions: readonly string[];
  /** The alert's case, when the ledger names one. */
  readonly caseKey?: string | undefined;
}

/** What became of one delivery of a replay request. */
export interface ReplayItem {
  /** The original delivery. */
  readonly original: string;
  readonly source: string;
  readonly receivedAt?: number | undefined;
  readonly originalStatus?: DeliveryStatus | undefined;
  /** preview: shown only; replayed: run as the new delivery `replay`; skipped: not run, see `why`; failed: the run failed (`why`), try again. */
  readonly result: 'preview' | 'replayed' | 'skipped' | 'failed';
  readonly why?: string | undefined;
  readonly events?: readonly ReplayEventPreview[] | undefined;
  /** The new delivery (with --apply) and how it ended. */
  readonly replay?: string | undefined;
  readonly status?: string | undefined;
  readonly answer?: { readonly status: number; readonly body: unknown } | undefined;
}

export interface ReplayReport {
  readonly apply: boolean;
  readonly items: readonly ReplayItem[];
}

/** What running one archived delivery again needs (the ingest handler's `replayDelivery`). */
export type ApplyReplay = (original: DeliveryRecord, archived: ArchivedDelivery) => Promise<{ readonly delivery: string | undefined; readonly status: string; readonly answer: { readonly status: number; readonly body: unknown } }>;

export interface ReplayDeps {
  readonly rules: CompiledRules;
  readonly ledger: Ledger;
  readonly journal: DeliveryJournal;
  readonly archive: Archive;
  readonly apply: ApplyReplay;
  readonly now?: () => number;
  /** Time left in the invocation (the deployed function): deliveries not started with REPLAY_MARGIN_MS left are skipped, saying so. */
  readonly remainingMs?: (() => number) | undefined;
}

/** A delivery is not started with less time than this left in the invocation (one replay's Datadog calls and journal write). */
export const REPLAY_MARGIN_MS = 4000;

/** The deliveries a request names: by id (in the order given), or the selection, oldest first. */
async function select(request: ReplayRequest, journal: DeliveryJournal, now: number): Promise<(DeliveryRecord | string)[]> {
  if (request.ids !== undefined && request.ids.length > 0) return Promise.all(request.ids.map(async (id) => (await journal.get(id)) ?? id));
  const found = await journal.list({ source: request.source, since: request.since ?? now, until: request.until, status: request.failed === true ? 'failed' : undefined, limit: MAX_REPLAY });
  return found.reverse();
}

/** Why a journaled delivery cannot be replayed, or undefined when it can. */
function notReplayable(record: DeliveryRecord): string | undefined {
  if (!record.verified) return `it was not verified (${record.why ?? record.status}): only verified deliveries are replayed`;
  if (record.archiveKey === undefined) return `its bytes are not in the archive${record.archiveError !== undefined ? ` (${record.archiveError})` : ''}`;
  return undefined;
}

/** Runs a replay request: a preview of each delivery, or (apply) each run as a new delivery. */
export async function replayDeliveries(request: ReplayRequest, deps: ReplayDeps): Promise<ReplayReport> {
  const now = deps.now ?? Date.now;
  const items: ReplayItem[] = [];
  for (const found of await select(request, deps.journal, now())) {
    if (typeof found === 'string') {
      items.push({ original: found, source: '', result: 'skipped', why: 'no such delivery in the journal (expired, or not this bridge)' });
      continue;
    }
    const base = { original: found.id, source: found.source, receivedAt: found.receivedAt, originalStatus: found.status };
    if (deps.remainingMs !== undefined && deps.remainingMs() < REPLAY_MARGIN_MS) {
      items.push({ ...base, result: 'skipped', why: 'not reached: the invocation ran out of time; replay it again (by id)' });
      continue;
    }
    const why = notReplayable(found);
    const archived = why === undefined && found.archiveKey !== undefined ? await deps.archive.get(found.archiveKey) : undefined;
    if (why !== undefined || archived === undefined) {
      items.push({ ...base, result: 'skipped', why: why ?? `its archived bytes are gone (${found.archiveKey ?? 'no key'}: expired?)` });
      continue;
    }
    let events: ReplayEventPreview[];
    try {
      events = await previewDelivery(deps.rules, deps.ledger, archived, now());
    } catch (error) {
      items.push({ ...base, result: 'skipped', why: `the current rules cannot take it: ${error instanceof Error ? error.message : String(error)}` });
      continue;
    }
    if (!request.apply) {
      items.push({ ...base, result: 'preview', events });
      continue;
    }
    try {
      const done = await deps.apply(found, archived);
      items.push({ ...base, result: 'replayed', events, replay: done.delivery, status: done.status, answer: done.answer });
    } catch (error) {
      // The ledger, the queue or the secret failed (a webhook would be answered 5xx): nothing was stored as done.
      items.push({ ...base, result: 'failed', events, why: error instanceof Error ? error.message : String(error) });
    }
  }
  return { apply: request.apply, items };
}

/**
 * What an archived delivery would do now: parsed as at receipt, through the current rules, and the
 * lifecycle's decision against the ledger as it is. Reads only.
 */
export async function previewDelivery(rules: CompiledRules, ledger: Ledger, archived: ArchivedDelivery, now: number): Promise<ReplayEventPreview[]> {
  const compiled = isSourceName(archived.source) ? rules.sources.get(archived.source) : undefined;
  if (compiled === undefined) throw new ReplayRequestError(`the rules configure no source ${archived.source}`);
  const source = await compiled.load();
  const body = parseJsonObject(Buffer.from(archived.body));
  const out: ReplayEventPreview[] = [];
  for (const ev of source.parse(body, { ...archived.headers })) {
    if (ev.ping) continue;
    const mapped = await mapEventToCase(compiled, ev);
    const base = { type: ev.type, identity: ev.identity, signal: ev.signal };
    let identity: string;
    let policy: LifecyclePolicy;
    let rule: string | undefined;
    if (mapped.outcome === 'case') {
      identity = mapped.identity;
      rule = mapped.rule;
      policy = mapped.lifecycle ?? compiled.lifecycle ?? DEFAULT_LIFECYCLE_POLICY;
    } else if (mapped.outcome === 'no_match' && ev.signal !== 'firing') {
      // A resolve, an update or a note no rule takes still reaches the alert's case (processAlertEvent).
      const entry = await ledger.get(ev.source, ev.identity);
      const notePolicy = compiled.rules.find((r) => r.name === entry?.rule)?.lifecycle ?? compiled.lifecycle ?? DEFAULT_LIFECYCLE_POLICY;
      if (ev.note !== undefined && notePolicy.on_note === 'comment') {
        // A note's comment is made once per note id: one already made is not made again.
        out.push({ ...base, noRule: mapped.reason, decision: entry?.caseId !== undefined ? 'note' : 'no_case', actions: entry?.caseId !== undefined ? ['comment (once per note)'] : [], ...(entry?.caseKey !== undefined ? { caseKey: entry.caseKey } : {}) });
        continue;
      }
      if (entry === undefined) {
        out.push({ ...base, noRule: mapped.reason, decision: 'no_match', actions: [] });
        continue;
      }
      identity = ev.identity;
      policy = notePolicy;
    } else {
      out.push({ ...base, ...(mapped.outcome === 'ignored' ? { rule: mapped.rule } : { noRule: mapped.reason }), decision: mapped.outcome, actions: [] });
      continue;
    }
    const entry = await ledger.get(ev.source, identity);
    // As the replay runs it: the event happened when the original was received, and is no new occurrence.
    const d = asReplay(decide(entry, { signal: mapped.outcome === 'case' && ev.signal === 'informational' ? 'firing' : ev.signal, occurredAt: eventTime(ev, archived.receivedAt), deliveryId: ev.deliveryId }, policy, now));
    out.push({
      ...base,
      ...(identity !== ev.identity ? { identity } : {}),
      ...(rule !== undefined ? { rule } : { noRule: 'no rule matches; the alert has a case' }),
      decision: d.reason,
      actions: d.actions.map((a) => a.kind),
      ...(entry?.caseKey !== undefined ? { caseKey: entry.caseKey } : {}),
    });
  }
  return out;
}
