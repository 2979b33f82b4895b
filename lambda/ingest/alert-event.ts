import type { CreatedCase } from '../datadog/client.js';
import type { CompiledSource } from '../mapping/compile-rules.js';
import type { MapResult } from '../mapping/map-event.js';
import { runLifecycle } from '../delivery/run.js';
import type { AlertWork } from '../lifecycle/work.js';
import { DEFAULT_LIFECYCLE_POLICY, type LifecyclePolicy } from '../lifecycle/policy.js';
import type { UpdateDeps } from '../delivery/updates.js';
import type { SourceEvent } from '../sources/index.js';

/** What the ingest handler answers for one event that went through the ledger. */
export interface AlertEventResult {
  readonly status: 'created' | 'queued' | 'dead_lettered' | 'updated' | 'deduplicated';
  readonly identity: string;
  readonly rule?: string | undefined;
  readonly reason?: string;
  readonly case?: CreatedCase;
  readonly caseId?: string | undefined;
  readonly caseKey?: string | undefined;
  readonly retryInSeconds?: number;
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
export async function processAlertEvent(compiled: CompiledSource, ev: SourceEvent, mapped: MapResult, deps: UpdateDeps): Promise<AlertEventResult | undefined> {
  let work: AlertWork;
  if (mapped.outcome === 'case') {
    work = {
      source: ev.source,
      identity: mapped.identity,
      rule: mapped.rule,
      signal: ev.signal === 'informational' ? 'firing' : ev.signal,
      deliveryId: ev.deliveryId,
      request: mapped.request,
      summary: ev.type,
      policy: mapped.lifecycle ?? compiled.lifecycle ?? DEFAULT_LIFECYCLE_POLICY,
    };
  } else if (mapped.outcome === 'no_match' && ev.signal !== 'firing') {
    const entry = await deps.ledger.get(ev.source, ev.identity);
    if (entry === undefined) return undefined;
    work = { source: ev.source, identity: ev.identity, rule: undefined, signal: ev.signal, deliveryId: ev.deliveryId, request: undefined, summary: ev.type, policy: policyOfRule(compiled, entry.rule) };
  } else {
    return undefined;
  }
  const outcome = await runLifecycle(work, deps);
  // Plain literals (no spread of a shared base): one object shape per answer, cheap on the hot path.
  const { identity, rule } = work;
  switch (outcome.status) {
    case 'created':
      return { status: 'created', identity, rule, case: outcome.case, reason: outcome.reason };
    case 'queued':
      return { status: 'queued', identity, rule, reason: outcome.reason, retryInSeconds: outcome.delaySeconds };
    case 'dead_lettered':
      return { status: 'dead_lettered', identity, rule, reason: outcome.reason };
    case 'updated':
      return { status: 'updated', identity, rule, reason: outcome.reason, caseId: outcome.caseId, caseKey: outcome.caseKey };
    case 'deduplicated':
      return { status: 'deduplicated', identity, rule, reason: outcome.reason, caseId: outcome.caseId, caseKey: outcome.caseKey };
  }
}
