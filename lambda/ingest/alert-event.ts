import type { CompiledSource } from '../mapping/compile-rules.js';
import type { MapResult } from '../mapping/map-event.js';
import { runLifecycle, type LifecycleOutcome } from '../delivery/run.js';
import type { AlertWork } from '../lifecycle/work.js';
import { DEFAULT_LIFECYCLE_POLICY, type LifecyclePolicy } from '../lifecycle/policy.js';
import type { OutboxDeps } from '../delivery/outbox.js';
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

/**
 * One mapped event through the dedup ledger and the lifecycle (issue 4).
 * - A rule matched: its identity and policy; an informational event a rule takes counts as firing
 *   (the rule asked for a case for it).
 * - No rule matched a resolve or informational event: it still reaches the alert's case, if the
 *   ledger has one under the source's identity, with the policy of the rule that created it.
 * Undefined: the ledger has nothing to do with it (answered as before: ignored / no rule matched).
 */
export async function processAlertEvent(
  compiled: CompiledSource,
  ev: SourceEvent,
  mapped: MapResult,
  deps: OutboxDeps,
  journalId?: string,
  /** A replayed delivery (issue 16): the event happened when the original was received, and is no new occurrence. */
  replay?: { readonly receivedAt: number },
): Promise<AlertEventOutcome | undefined> {
  const replayed = replay !== undefined ? { occurredAt: replay.receivedAt, replay: true } : {};
  let work: AlertWork;
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
      ...replayed,
    };
  } else if (mapped.outcome === 'no_match' && ev.signal !== 'firing') {
    const entry = await deps.ledger.get(ev.source, ev.identity);
    if (entry === undefined) return undefined;
    work = { source: ev.source, identity: ev.identity, rule: undefined, signal: ev.signal, deliveryId: ev.deliveryId, journalId, request: undefined, summary: ev.type, policy: policyOfRule(compiled, entry.rule), ...replayed };
  } else {
    return undefined;
  }
  return { identity: work.identity, rule: work.rule, outcome: await runLifecycle(work, deps) };
}
