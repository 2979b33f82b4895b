import type { CompiledSource } from '../mapping/compile-rules.js';
import type { MapResult } from '../mapping/map-event.js';
import { runLifecycle, type LifecycleOutcome } from '../delivery/run.js';
import { eventTime } from '../lifecycle/event-time.js';
import { runNote } from '../delivery/note.js';
import type { AlertWork } from '../lifecycle/work.js';
import type { LedgerEntry } from '../ledger/types.js';
import { DEFAULT_LIFECYCLE_POLICY, type LifecyclePolicy } from '../lifecycle/policy.js';
import type { OutboxDeps } from '../delivery/outbox.js';
import { resetThreshold } from '../delivery/threshold.js';
import type { OpenAfter } from '../lifecycle/threshold.js';
import type { SourceEvent } from '../sources/index.js';

/** One event through the ledger and the lifecycle: its dedup identity, rule and outcome. */
export interface AlertEventOutcome {
  readonly identity: string;
  readonly rule: string | undefined;
  readonly outcome: LifecycleOutcome;
}

function policyOfRule(compiled: CompiledSource, rule: string | undefined): LifecyclePolicy {
  const found = rule === undefined ? undefined : compiled.rules.find((r) => r.name === rule);
  return found?.lifecycle ?? compiled.lifecycle ?? DEFAULT_LIFECYCLE_POLICY;
}

/** The source's occurrence threshold, or else the first of its rules' (issue 17); undefined when none has one. */
function thresholdOf(compiled: CompiledSource): OpenAfter | undefined {
  return compiled.lifecycle?.open_after ?? compiled.rules.find((r) => r.lifecycle?.open_after !== undefined)?.lifecycle?.open_after;
}

/**
 * One mapped event through the dedup ledger and the lifecycle (issue 4).
 * - A rule matched: its identity and policy; an informational event a rule takes counts as firing
 *   (the rule asked for a case for it).
 * - No rule matched a resolve or informational event: it still reaches the alert's case, if the
 *   ledger has one under the source's identity, with the policy of the rule that created it.
 * - No rule matched a human's note (PagerDuty incident.annotated, Opsgenie AddNote...): under the
 *   policy's `on_note: comment`, its own comment on the alert's case (`no_case` when it has none);
 *   under `ignore`, an informational event as above.
 * The event is ordered by the sender's own time where it gives one (capped by eventTime), else by
 * `receivedAt`, when the bridge received it (issue 13).
 * Undefined: the ledger has nothing to do with it (answered as before: ignored / no rule matched).
 */
export async function processAlertEvent(
  compiled: CompiledSource,
  ev: SourceEvent,
  mapped: MapResult,
  deps: OutboxDeps,
  receivedAt: number = deps.now(),
  journalId?: string,
  /** A replayed delivery (issue 16; `receivedAt` is the original's): its events are no new occurrence. */
  replay = false,
): Promise<AlertEventOutcome | undefined> {
  const occurredAt = eventTime(ev, receivedAt);
  const replayed = replay ? { replay: true } : {};
  let work: AlertWork;
  let read: { readonly entry: LedgerEntry | undefined } | undefined;
  if (mapped.outcome === 'case') {
    work = {
      source: ev.source,
      identity: mapped.identity,
      rule: mapped.rule,
      signal: ev.signal === 'informational' ? 'firing' : ev.signal,
      deliveryId: ev.deliveryId,
      journalId,
      request: mapped.request,
      summary: ev.type,
      policy: mapped.lifecycle ?? compiled.lifecycle ?? DEFAULT_LIFECYCLE_POLICY,
      occurredAt,
      receivedAt,
      ...replayed,
    };
  } else if (mapped.outcome === 'no_match' && ev.signal !== 'firing') {
    const entry = await deps.ledger.get(ev.source, ev.identity);
    const policy = policyOfRule(compiled, entry?.rule);
    if (ev.note !== undefined && policy.on_note === 'comment') {
      const note = { source: ev.source, identity: ev.identity, rule: undefined, signal: ev.signal, deliveryId: ev.deliveryId, journalId, request: undefined, summary: ev.type, policy, note: ev.note, occurredAt, receivedAt };
      return { identity: ev.identity, rule: undefined, outcome: await runNote(note, deps) };
    }
    if (entry === undefined) {
      // Issue 17: an alert below its occurrence threshold has no entry yet; its resolve resets the count.
      const openAfter = ev.signal === 'resolved' ? thresholdOf(compiled) : undefined;
      const reset = openAfter === undefined ? undefined : await resetThreshold({ source: ev.source, identity: ev.identity }, occurredAt, undefined, openAfter, deps);
      return reset === undefined ? undefined : { identity: ev.identity, rule: undefined, outcome: reset };
    }
    work = { source: ev.source, identity: ev.identity, rule: undefined, signal: ev.signal, deliveryId: ev.deliveryId, journalId, request: undefined, summary: ev.type, policy, occurredAt, receivedAt, ...replayed };
    read = { entry };
  } else {
    return undefined;
  }
  return { identity: work.identity, rule: work.rule, outcome: await runLifecycle(work, deps, read) };
}
