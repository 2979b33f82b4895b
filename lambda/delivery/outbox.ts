import { hash } from 'node:crypto';
import { SUCCESSOR_OF, type CaseSummary, type CreatedCase } from '../datadog/client.js';
import { MAX_ATTEMPTS, MAX_DELAY_SECONDS, retryDelaySeconds } from '../datadog/retry-policy.js';
import type { CaseCreateRequest } from '../datadog/schema.js';
import { newIntentId } from '../ledger/intent-id.js';
import { ABANDONED_STATUS, DELETED_STATUS, type AlertKey, type LedgerEntry, type OutboxAction } from '../ledger/types.js';
import { ANSWER_MARGIN_MS, AWS_CALL_WORST_CASE_MS, BUDGETS, CLAIM_MARGIN_MS, CLAIM_MS, DATADOG_TIMEOUT_MS, GUARD_READ_PAGES } from '../shared/budgets.js';
import { BridgeError, DatadogError } from '../shared/errors.js';
import { callDatadog, MIN_CALL_MS, RetryRefusedError, storing } from './call.js';
import { rebookAfter429 } from './deliver.js';
import type { Pacer } from './rate-budget.js';
import type { Logger } from '../shared/log.js';
import { outboxTrigger, WATCHDOG_REASON, type PendingAction } from './queue.js';
import { STEP_HOOKS, type StepHook } from './steps.js';
import { swapped } from '../ledger/swap.js';
import { MARKER_SEARCH_SETTLE_SECONDS, type UpdateDeps } from './updates.js';
import type { SourceName } from '../sources/index.js';
import type { DeliveryAction } from '../journal/types.js';

/** A rate budget's say on the next action (issue 15): go now, or not before a time (ms). */
export type GateAnswer = { readonly go: true } | { readonly notBefore: number };
export type Gate = (action: OutboxAction, now: number) => GateAnswer | Promise<GateAnswer>;
const ALWAYS_GO: Gate = () => ({ go: true });

/**
 * The shared rate budget as a gate: creates are booked before comments and status changes (the
 * budget's order), and an action that booked a slot earlier (`slotAt`) hands it back as its ticket.
 */
export function paceGate(pace: Pacer, logger?: Logger): Gate {
  return async (action, now) => {
    try {
      const decision = await pace.reserve(action.kind === 'create' ? 'create' : 'update', now, action.slotAt);
      return decision.go ? { go: true } : { notBefore: decision.notBeforeMs };
    } catch (error) {
      // The budget's item cannot be read or written: the call goes unpaced, and Datadog's 429s pace it.
      logger?.warn('rate budget unavailable; calling unpaced', { error });
      return { go: true };
    }
  };
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** An action this worker claimed but did not send: no guard is owed for it (as after a 429). */
function unsent(action: OutboxAction, me: string): OutboxAction {
  return action.claimedBy === me ? { ...action, claimedBy: undefined, sentAt: action.suspectAt } : action;
}

export interface OutboxDeps extends UpdateDeps {
  /** Test-only crash-point hook (lambda/delivery/steps.ts); never passed by the Lambda entries. */
  readonly steps?: StepHook | undefined;
  /** @default paceGate(pace) with a rate budget, else always go */
  readonly gate?: Gate | undefined;
  /** Time left in this invocation (ms); a Datadog call starts only with DATADOG_TIMEOUT_MS + ANSWER_MARGIN_MS left. @default unbounded */
  readonly remainingMs?: (() => number) | undefined;
  /**
   * Told what became of each action this run finished, queued or dead-lettered (issue 16): the
   * journal record of the action's delivery (`journalId`) is updated with it. Never throws.
   */
  readonly onAction?: ((key: AlertKey, action: OutboxAction, report: DeliveryAction) => void) | undefined;
}

/** What one run of an alert's outbox came to. */
export interface OutboxRun {
  /**
   * `done`: nothing left. `busy`: another worker's claim is live. `waiting`: the head is not due
   * (rate limited, search settling); a trigger is armed. `left`: no time left in this invocation; the
   * watchdog comes. `dropped`: the case is gone or the work was taken over.
   */
  readonly status: 'done' | 'busy' | 'waiting' | 'left' | 'dropped';
  /** The case made (or found by marker) by this run. */
  readonly created?: CreatedCase | undefined;
  /** Actions this run finished, handed over to the DLQ, and the one waiting to be retried. */
  readonly done: readonly OutboxAction[];
  readonly deadLettered: readonly OutboxAction[];
  readonly retrying: readonly OutboxAction[];
  /** When the work left can be taken up (ms). */
  readonly dueAt?: number | undefined;
  /** Why the last action failed (Datadog's answer), and the retry delay asked for. */
  readonly reason?: string | undefined;
  readonly retryInSeconds?: number | undefined;
}

/** The marker line ending every outbox comment: how a takeover finds a comment already posted. */
export function updateMarkerLine(actionId: string): string {
  return `case-bridge update: ${actionId}`;
}

/** Action id: deterministic in the alert, its case generation and the action's sequence number. */
export function outboxActionId(key: AlertKey, generation: number, seq: number): string {
  return `cbu${hash('sha256', `${key.source}\n${key.identity}\n${generation}\n${seq}`).slice(0, 20)}`;
}

/** New actions appended to an entry's outbox (`seq` from nextSeq). */
export function appendActions(entry: LedgerEntry, actions: readonly Omit<OutboxAction, 'id'>[]): Pick<LedgerEntry, 'outbox' | 'nextSeq'> {
  let seq = entry.nextSeq ?? 0;
  const added = actions.map((a) => ({ ...a, id: outboxActionId(entry, entry.generation, seq++) }));
  return { outbox: [...(entry.outbox ?? []), ...added], nextSeq: seq };
}

/**
 * The outbox as `me` holds it: every action gets `claimedBy: me` and `sentAt: now` (written before
 * any effect); one another worker held is guarded, since that worker may have sent it.
 */
export function heldBy(outbox: readonly OutboxAction[], me: string, now: number): OutboxAction[] {
  return outbox.map((a) =>
    a.claimedBy === me
      ? a
      : {
          ...a,
          guard: a.guard === true || a.claimedBy !== undefined,
          // The latest time a previous worker may have sent it: the marker search settles from then.
          suspectAt: a.claimedBy !== undefined && a.sentAt !== undefined ? Math.max(a.sentAt, a.suspectAt ?? 0) : a.suspectAt,
          claimedBy: me,
          sentAt: now,
        },
  );
}

/** The entry with the claim taken by `me` for CLAIM_MS. */
export function claimed(entry: LedgerEntry, me: string, now: number): LedgerEntry {
  return { ...entry, claimId: me, claimUntil: now + CLAIM_MS, outbox: heldBy(entry.outbox ?? [], me, now) };
}

/** The longest wait for a slot under a claim: half the claim's margin (CLAIM_MS holds CLAIM_MARGIN_MS beyond the work). */
const CLAIM_WAIT_MS = CLAIM_MARGIN_MS / 2;

function released(entry: LedgerEntry, outbox: readonly OutboxAction[]): LedgerEntry {
  return { ...entry, outbox, claimId: undefined, claimUntil: undefined };
}


/**
 * Works an alert's outbox (issue 13): claims it when the claim is void (or is `me`'s), then runs the
 * actions in order, each guarded when a previous worker may have sent it, and records each result in
 * the write that removes it. A 429/5xx arms a trigger for the retry delay and records the failure;
 * a permanent failure goes to the DLQ (today's message kinds, so `npm run redrive` is unchanged).
 */
/**
 * `written`: the entry the caller's conditional write just stored (what swapped() gives for it): the
 * first round starts from it instead of reading it back (issue 15: one ledger read less on every
 * transition). A write that raced it meanwhile makes the next conditional write fail and read again.
 */
export async function runOutbox(key: AlertKey, deps: OutboxDeps, me: string = newIntentId(), written?: LedgerEntry): Promise<OutboxRun> {
  const { ledger, logger } = deps;
  const gate = deps.gate ?? (deps.pace !== undefined ? paceGate(deps.pace, logger) : ALWAYS_GO);
  const sleep = deps.sleep ?? realSleep;
  /** How long this run may wait in process for a time not far off, rather than re-arm (paceWaitMs, within the deadlines). */
  const waitable = (dueAt: number, now: number): boolean => {
    const wait = dueAt - now;
    if (wait <= 0) return true;
    const deadlineLeft = deps.deadlineAt === undefined ? Infinity : deps.deadlineAt - MIN_CALL_MS - dueAt;
    const invocationLeft = deps.remainingMs === undefined ? Infinity : deps.remainingMs() - wait - (DATADOG_TIMEOUT_MS + ANSWER_MARGIN_MS);
    return wait <= (deps.paceWaitMs ?? 0) && deadlineLeft >= 0 && invocationLeft >= 0;
  };
  const settleMs = (deps.markerSearchSettleSeconds ?? MARKER_SEARCH_SETTLE_SECONDS) * 1000;
  const at = (actionId?: string) => ({ source: key.source, identity: key.identity, ...(actionId !== undefined ? { actionId } : {}) });
  const step = async (name: Parameters<StepHook>[0], actionId?: string): Promise<void> => {
    if (STEP_HOOKS && deps.steps !== undefined) await deps.steps(name, at(actionId));
  };
  /** `step` for each of `actionIds`, in order. */
  const steps = async (name: Parameters<StepHook>[0], actionIds: Iterable<string>): Promise<void> => {
    for (const id of [...actionIds]) await step(name, id);
  };
  let created: CreatedCase | undefined;
  const done: OutboxAction[] = [];
  const deadLettered: OutboxAction[] = [];
  const retrying: OutboxAction[] = [];
  let reason: string | undefined;
  let retryInSeconds: number | undefined;
  const result = (status: OutboxRun['status'], dueAt?: number): OutboxRun => ({ status, created, done, deadLettered, retrying, dueAt, reason, retryInSeconds });

  /** Arms a trigger for `dueAt` (the retry function comes back then). */
  const rearm = async (dueAt: number, reason: string, early = false): Promise<void> => {
    // `early`: a booked slot; the trigger comes back up to a second before it and the run waits the rest.
    const seconds = (dueAt - deps.now()) / 1000;
    const delaySeconds = Math.min(MAX_DELAY_SECONDS, Math.max(0, early ? Math.floor(seconds) : Math.ceil(seconds)));
    await storing(`arm the outbox of ${key.identity}`, () => deps.queue.arm(outboxTrigger(key.source as SourceName, key.identity, deps.now()), { delaySeconds, reason }));
    if (STEP_HOOKS) await step('rearm.enqueued');
  };

  // The entry as this run's last conditional write stored it, when nothing else needs reading first.
  let known = written;
  /**
   * Actions this run made in Datadog whose removal from the outbox is not written yet (issue 15): an
   * update followed by another that goes at once (a resolve's comment, then its close) is recorded in
   * the write that records the next one. Until then it stays stored as claimed and sent by this worker,
   * as between any call and its completion write: a worker taking over checks it first (the guard).
   * Every write of this run leaves them out; `open` is the outbox as this run still has it to do.
   */
  const unrecorded = new Set<string>();
  const open = (e: LedgerEntry): LedgerEntry => (unrecorded.size === 0 ? e : { ...e, outbox: (e.outbox ?? []).filter((a) => !unrecorded.has(a.id)) });
  /**
   * Writes the removal of the unrecorded actions, before this run stops without another write; not on
   * an entry another worker has claimed meanwhile (its work: that worker checks them first).
   */
  const recordDone = async (from: LedgerEntry): Promise<void> => {
    if (unrecorded.size === 0 || from.claimId !== me) return;
    const rest = open(from).outbox ?? [];
    if (await ledger.swap(from, rest.length === 0 ? released(from, []) : { ...from, outbox: rest })) {
      if (STEP_HOOKS) await steps('action.completed', unrecorded);
      unrecorded.clear();
    }
  };
  /**
   * Before a run stops without the write that would record them (its rounds used up, or a store or
   * Datadog failing after an update went): the unrecorded actions are recorded on the entry as it is
   * stored, while it is still this run's claim, so no later worker has to guard them (a guard that
   * cannot read the timeline posts again).
   */
  const recordBeforeStop = async (): Promise<void> => {
    if (unrecorded.size === 0) return;
    const stored = known ?? (await ledger.get(key.source, key.identity));
    if (stored !== undefined) await recordDone(stored);
  };
  try {
    return await rounds();
  } catch (error) {
    if (error instanceof BridgeError && unrecorded.size > 0) {
      known = undefined;
      await recordBeforeStop().catch(() => undefined);
    }
    throw error;
  }

  async function rounds(): Promise<OutboxRun> {
    for (let round = 0; round < 32; round += 1) {
      const entry = known ?? (await ledger.get(key.source, key.identity));
      known = undefined;
      const outbox = entry?.outbox ?? [];
      if (entry === undefined || outbox.length === 0) return result('done');
      const now = deps.now();
      let held = entry;
      if (entry.claimId !== me) {
        if (entry.claimUntil !== undefined && entry.claimUntil > now) return result('busy', entry.claimUntil);
        const first = outbox[0]!;
        if (first.notBefore !== undefined && first.notBefore > now) {
          if (first.slotAt !== undefined && waitable(first.notBefore, now)) {
            // Its booked slot is close (a trigger comes back early): wait for it, then look again.
            await sleep(first.notBefore - now);
            continue;
          }
          // Not due (rate limited, search settling): come back then; nothing is written.
          await rearm(first.notBefore, 'not due yet', first.slotAt !== undefined);
          return result('waiting', first.notBefore);
        }
        const claim = claimed(entry, me, now);
        if (!(await ledger.swap(entry, claim))) continue;
        if (STEP_HOOKS) await step('claim.written');
        // What the claim's conditional write stored (issue 15: not read back).
        held = swapped(entry, claim, entry);
      }
      const head = open(held).outbox?.[0];
      if (head === undefined) {
        await recordDone(held);
        return result('done');
      }
      let gated = await gate(head, now);
      if ('notBefore' in gated && gated.notBefore - now <= Math.min(deps.paceWaitMs ?? 0, CLAIM_WAIT_MS) && waitable(gated.notBefore, now)) {
        // The slot is close: wait for it under this claim (its margin holds CLAIM_WAIT_MS), then go.
        await sleep(gated.notBefore - now);
        gated = { go: true };
      }
      const slotAt = 'notBefore' in gated ? gated.notBefore : undefined;
      const notBefore = Math.max(head.notBefore ?? 0, slotAt ?? 0);
      if (notBefore > deps.now()) {
        // Not due: rate limited (a slot booked in the budget), or a create that may exist waits for the marker search to settle.
        await rearm(notBefore, head.kind === 'create' && head.guard === true ? "waiting for Datadog's search to settle" : slotAt !== undefined ? "waiting for a slot in Datadog's rate limit" : 'not due yet', slotAt !== undefined);
        // A slot refused sent nothing: the actions this worker claimed owe no guard.
        const waiting = (a: OutboxAction): OutboxAction => (slotAt === undefined ? a : unsent(a, me));
        const written1 = await ledger.swap(held, released(held, (open(held).outbox ?? []).map((a) => (a.id === head.id ? { ...waiting(a), notBefore, slotAt } : waiting(a)))));
        if (written1) unrecorded.clear();
        if (STEP_HOOKS && written1) await step('failure.recorded', head.id);
        return result('waiting', notBefore);
      }
      if (deps.remainingMs !== undefined && deps.remainingMs() < DATADOG_TIMEOUT_MS + ANSWER_MARGIN_MS) {
        await recordDone(held);
        return result('left', held.claimUntil);
      }
      if (deps.deadlineAt !== undefined && deps.deadlineAt - deps.now() < MIN_CALL_MS) {
        // The sender's deadline (ack_deadline_ms) leaves no time for a call: the retry function goes on now.
        await rearm(deps.now(), "the sender's deadline leaves no time for the Datadog call");
        const written6 = await ledger.swap(held, released(held, (open(held).outbox ?? []).map((a) => unsent(a, me))));
        if (written6) unrecorded.clear();
        if (STEP_HOOKS && written6) await step('failure.recorded', head.id);
        return result('waiting', deps.now());
      }

      if (head.kind === 'create' && entry.state !== 'creating') {
        // The case exists already (a legacy retry message completed it): the create is done.
        const written2 = await ledger.swap(held, released(held, (open(held).outbox ?? []).filter((a) => a.id !== head.id)));
        if (written2) unrecorded.clear();
        if (STEP_HOOKS && written2) await step('action.completed', head.id);
        continue;
      }
      /**
       * Before a Datadog call of `callMs`: the claim must still hold the call and the ledger write after
       * it, so no takeover reads the case before this call has landed. When it does not, it is renewed
       * by a conditional swap (a transition that appended meanwhile is read and the renewal tried on it);
       * false when the claim is no longer this worker's or the renewal came too late: nothing is sent.
       */
      const keepClaim = async (callMs: number): Promise<boolean> => {
        const need = callMs + AWS_CALL_WORST_CASE_MS;
        for (let tries = 0; tries < 5; tries += 1) {
          if (held.claimId !== me || !(held.outbox ?? []).some((a) => a.id === head.id)) return false;
          if ((held.claimUntil ?? 0) - deps.now() >= need) return true;
          const renewed: LedgerEntry = { ...held, claimUntil: deps.now() + CLAIM_MS };
          const won = await ledger.swap(held, renewed);
          if (STEP_HOOKS && won) await step('claim.written', head.id);
          const current = await ledger.get(key.source, key.identity);
          if (current === undefined) return false;
          held = current;
          if (won) {
            if ((held.claimUntil ?? 0) - deps.now() >= need) return true;
            logger.warn('claim renewed too late for the next Datadog call; left to the next worker', { claimUntil: held.claimUntil, needMs: need });
            return false;
          }
        }
        return false;
      };
      let effect: { readonly created?: CreatedCase; readonly settleUntil?: number } | 'missing' | 'left';
      try {
        effect = await act(head, held, deps, settleMs, keepClaim);
      } catch (error) {
        // A 401/403 whose second try the claim no longer held: nothing was done; the next worker goes on.
        if (error instanceof RetryRefusedError) {
          await recordDone(held);
          return result('left', held.claimUntil);
        }
        if (!(error instanceof DatadogError)) throw error;
        const tries = (head.tries ?? 0) + (error.status === 429 ? 0 : 1);
        if (error.retryable && tries < MAX_ATTEMPTS) {
          // A 429 states the budget (its reset is the floor): the action books its next slot and comes back for it.
          const slotAt = error.status === 429 ? await rebookAfter429(head.kind === 'create' ? 'create' : 'update', error, deps) : undefined;
          const delaySeconds = slotAt !== undefined ? Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.floor((slotAt - deps.now()) / 1000))) : retryDelaySeconds(error, tries, deps.random) + (error.status === 429 && head.kind !== 'create' ? 1 : 0);
          await storing(`queue the case for ${key.identity}`, () => deps.queue.retry(outboxTrigger(key.source as SourceName, key.identity, now, head.deliveryId), { delaySeconds, reason: error.message }));
          deps.metrics?.count('RetriesEnqueued', key.source);
          if (STEP_HOOKS) await step('retry.enqueued', head.id);
          // Not sent when Datadog answered (429, 5xx other than a lost answer): no guard is owed for this try.
          const failed = { ...head, tries, notBefore: slotAt ?? deps.now() + delaySeconds * 1000, slotAt, ...(error.ambiguous ? {} : { claimedBy: undefined, sentAt: head.suspectAt }) };
          const written3 = await ledger.swap(held, released(held, (open(held).outbox ?? []).map((a) => (a.id === head.id ? failed : a))));
          if (written3) unrecorded.clear();
          if (STEP_HOOKS && written3) await step('failure.recorded', head.id);
          logger.warn('case deferred to the retry queue', { status: error.status, delaySeconds, attempt: tries, kind: head.kind, reason: error.message, rateLimit: error.rateLimit });
          reason = error.message;
          retryInSeconds = delaySeconds;
          retrying.push(failed);
          deps.onAction?.(key, failed, { ...reportOf(head), outcome: 'queued', retryInSeconds: delaySeconds, reason: error.message, at: deps.now() });
          return result('waiting', failed.notBefore);
        }
        const why = error.retryable ? `gave up after ${tries} attempts: ${error.message}` : error.message;
        if (head.kind === 'link') {
          // Best effort (issue 17): a link that cannot be made is logged and dropped; the case stands.
          logger.error('case link given up: the new case stays unlinked', { status: error.status, reason: why, caseId: head.caseId ?? held.caseId, previousCaseId: head.linkTo });
          reason = why;
          if (!(await ledger.swap(held, givenUp(open(held), head, false)))) continue;
          unrecorded.clear();
          if (STEP_HOOKS) await step('action.completed', head.id);
          continue;
        }
        await storing(`queue the case for ${key.identity}`, () => deps.queue.deadLetter(deadLetterOf(head, held, key, error.ambiguous), { reason: why }));
        deps.metrics?.count('DeadLettered', key.source);
        if (STEP_HOOKS) await step('deadletter.sent', head.id);
        logger.error('case dead-lettered', { status: error.status, reason: why, errors: error.errors, kind: head.kind });
        reason = why;
        deadLettered.push(head);
        deps.onAction?.(key, head, { ...reportOf(head), outcome: 'dead_lettered', reason: why, at: deps.now() });
        if (!(await ledger.swap(held, givenUp(open(held), head, error.ambiguous)))) continue;
        unrecorded.clear();
        if (STEP_HOOKS) await step('action.completed', head.id);
        continue;
      }

      // The guard's read took the time the effect needed: nothing sent; the next worker checks again.
      if (effect === 'left') {
        await recordDone(held);
        return result('left', held.claimUntil);
      }
      if (effect === 'missing') {
        // The case was deleted in Datadog: what is left of the outbox is for that case.
        const written4 = await ledger.swap(held, { ...released(held, []), state: 'closed', closedAt: held.closedAt ?? deps.now(), closedBy: 'human', closedStatus: DELETED_STATUS });
        if (written4) unrecorded.clear();
        if (STEP_HOOKS && written4) await step('action.completed', head.id);
        logger.warn('case no longer exists in Datadog; its pending updates dropped', { caseId: held.caseId });
        return result('dropped');
      }
      if (effect.settleUntil !== undefined) {
        const settleUntil = effect.settleUntil;
        await rearm(settleUntil, head.kind === 'create' ? "waiting for Datadog's search to show a case the lost create may have made" : 'waiting for Datadog to show a comment the lost call may have made');
        // Nothing was sent: the action keeps the time a previous worker may have sent it.
        const waiting = { ...head, notBefore: settleUntil, sentAt: head.suspectAt ?? head.sentAt };
        const written5 = await ledger.swap(held, released(held, (open(held).outbox ?? []).map((a) => (a.id === head.id ? waiting : a))));
        if (written5) unrecorded.clear();
        if (STEP_HOOKS && written5) await step('failure.recorded', head.id);
        return result('waiting', settleUntil);
      }
      if (STEP_HOOKS) await step('datadog.acted', head.id);
      if (effect.created !== undefined) created = effect.created;
      const caseOf = effect.created ?? (held.caseId !== undefined ? { id: held.caseId, key: held.caseKey } : undefined);
      const report = (): void => {
        if (head.kind === 'create') deps.metrics?.count('CasesCreated', key.source);
        done.push(head);
        deps.onAction?.(key, head, { ...reportOf(head), outcome: 'done', ...(caseOf?.id !== undefined ? { caseId: caseOf.id } : {}), ...(caseOf?.key !== undefined ? { caseKey: caseOf.key } : {}), at: deps.now() });
      };
      // An update followed by an update that goes at once (due, time left, the claim holding its call):
      // recorded with that one (issue 15: a resolve's comment and close in one write, not two).
      const next = (open(held).outbox ?? []).find((a) => a.id !== head.id);
      const goesOn =
        head.kind !== 'create' &&
        next !== undefined &&
        next.kind !== 'create' &&
        (next.notBefore === undefined || next.notBefore <= deps.now()) &&
        (held.claimUntil ?? 0) - deps.now() >= DATADOG_TIMEOUT_MS + AWS_CALL_WORST_CASE_MS &&
        !(deps.remainingMs !== undefined && deps.remainingMs() < DATADOG_TIMEOUT_MS + ANSWER_MARGIN_MS) &&
        !(deps.deadlineAt !== undefined && deps.deadlineAt - deps.now() < MIN_CALL_MS);
      if (goesOn) {
        unrecorded.add(head.id);
        report();
        known = held;
        continue;
      }
      // Record the result (and the unrecorded ones before it); a write that lost its condition is tried again while the claim is still ours.
      let current: LedgerEntry | undefined = held;
      let recorded = false;
      let emptied = false;
      for (let tries = 0; current !== undefined && current.claimId === me; tries += 1) {
        const rest = (open(current).outbox ?? []).filter((a) => a.id !== head.id);
        const after: LedgerEntry = {
          ...(rest.length === 0 ? released(current, []) : { ...current, outbox: heldBy(rest, me, deps.now()), claimUntil: deps.now() + CLAIM_MS }),
          ...(effect.created !== undefined && current.state === 'creating' ? { state: 'open' as const, caseId: effect.created.id, caseKey: effect.created.key, openedAt: deps.now(), ambiguousIntentId: undefined } : {}),
        };
        if (await ledger.swap(current, after)) {
          if (STEP_HOOKS) await steps('action.completed', [...unrecorded, head.id]);
          unrecorded.clear();
          recorded = true;
          emptied = rest.length === 0;
          // The next round starts from what this write stored (issue 15: one ledger read less per action
          // after the first); a write that raced it makes the next conditional write fail and read again.
          known = swapped(current, after, current);
          break;
        }
        if (tries >= 5) break;
        current = await ledger.get(key.source, key.identity);
      }
      report();
      // Sent but not recorded (the writes kept losing): this worker must not send it again. The next
      // worker, once the claim lapses, finds it held by this one and checks it first (guard).
      if (!recorded) return result('left', current?.claimUntil ?? held.claimUntil);
      // The conditional write that emptied the outbox released the claim on the entry it read: work
      // appended since was appended to that released entry, by a writer that runs it (or its
      // watchdog does). Reading the entry again would only find it empty: done (issue 15, one read less).
      if (emptied) return result('done');
    }
    await recordBeforeStop();
    return result('left');
  }
}

/** The journal's view of an action (issue 16): what it is, without its outcome. */
function reportOf(action: OutboxAction): Pick<DeliveryAction, 'id' | 'kind' | 'purpose' | 'detail'> {
  const detail = action.kind === 'status' ? action.status : action.kind === 'comment' ? action.text?.split('\n', 1)[0]?.slice(0, 200) : undefined;
  return { id: action.id, kind: action.kind, ...(action.purpose !== undefined ? { purpose: action.purpose } : {}), ...(detail !== undefined ? { detail } : {}) };
}

/** The effect of one action; guarded when a previous worker may have made it. */
async function act(head: OutboxAction, entry: LedgerEntry, deps: OutboxDeps, settleMs: number, keepClaim: (callMs: number) => Promise<boolean>): Promise<{ readonly created?: CreatedCase; readonly settleUntil?: number } | 'missing' | 'left'> {
  const datadog = deps.datadog;
  // After a guard's read, the effect is a second Datadog call: it starts only if it fits the time left too.
  const noTimeLeft = (): boolean => deps.remainingMs !== undefined && deps.remainingMs() < DATADOG_TIMEOUT_MS + ANSWER_MARGIN_MS;
  const timed = entry.source;
  // Every call below first makes sure the claim holds it and the write after it (keepClaim); so does
  // its second try after a 401/403 with re-read keys (`again`).
  const again = (callMs: number) => (): Promise<boolean> => keepClaim(callMs);
  if (head.kind === 'create') {
    if (head.guard === true || entry.ambiguousIntentId !== undefined) {
      // Not before sentAt + settle (the caller checked): a lookup that finds nothing is trusted.
      if (!(await keepClaim(DATADOG_TIMEOUT_MS))) return 'left';
      const found: CaseSummary | undefined = await callDatadog(deps, undefined, (keys, options) => datadog.findCaseByMarker(entry.marker, keys, options), again(DATADOG_TIMEOUT_MS));
      if (found !== undefined) {
        deps.logger.info('case found by its dedup marker: not created again', { caseId: found.id, marker: entry.marker });
        return { created: { id: found.id, key: found.key, statusName: found.statusName } };
      }
      // Datadog's search lags its writes: nothing found is trusted only a settle time after the lost create.
      const settled = (head.suspectAt ?? head.sentAt ?? deps.now()) + settleMs;
      if (deps.now() < settled) return { settleUntil: settled };
      if (noTimeLeft()) return 'left';
    }
    const request = head.request as CaseCreateRequest;
    if (!(await keepClaim(DATADOG_TIMEOUT_MS))) return 'left';
    return { created: await callDatadog(deps, timed, (keys, options) => datadog.createCase(request, keys, options), again(DATADOG_TIMEOUT_MS)) };
  }
  const caseId = head.caseId ?? entry.caseId;
  if (caseId === undefined) return 'missing';
  if (head.kind === 'link') return link(head, caseId, timed, deps, keepClaim, noTimeLeft);
  try {
    if (head.kind === 'comment') {
      const line = updateMarkerLine(head.id);
      if (head.guard === true) {
        if (!(await keepClaim(BUDGETS.guardReadMs))) return 'left';
        const read = await callDatadog(deps, undefined, (keys, options) => datadog.listComments(caseId, { pages: GUARD_READ_PAGES }, keys, options), again(BUDGETS.guardReadMs));
        if (read.checked && read.comments.some((c) => c.message.includes(line))) return {};
        if (!read.checked) deps.logger.warn('comment may be duplicated: the case timeline cannot be read', { caseId, status: read.status });
        // A comment given up in flight (at the sender's deadline, long before Datadog's) may still be
        // on its way: not in the timeline is trusted only once it would have met its own deadline.
        if (read.checked && head.suspectAt !== undefined && deps.now() < head.suspectAt + DATADOG_TIMEOUT_MS) return { settleUntil: head.suspectAt + DATADOG_TIMEOUT_MS };
        if (noTimeLeft()) return 'left';
      }
      if (!(await keepClaim(DATADOG_TIMEOUT_MS))) return 'left';
      await callDatadog(deps, timed, (keys, options) => datadog.addComment(caseId, `${head.text ?? ''}\n\n${line}`, keys, options), again(DATADOG_TIMEOUT_MS));
      return {};
    }
    const status = head.status ?? 'CLOSED';
    if (!(await keepClaim(DATADOG_TIMEOUT_MS))) return 'left';
    await callDatadog(deps, timed, (keys, options) => datadog.setStatus(caseId, status === 'CLOSED' || status === 'OPEN' || status === 'IN_PROGRESS' ? status : { statusName: status }, keys, options), again(DATADOG_TIMEOUT_MS));
    return {};
  } catch (error) {
    if (error instanceof DatadogError && error.status === 404) return 'missing';
    throw error;
  }
}

/**
 * The new case linked as the successor of the alert's previous case (issue 17). Guarded when a previous
 * worker may have sent it: the case's links are read first (a 400/404/405 read cannot tell: the link is
 * sent, and a 409 for a link that exists is done). Any error here is the link's own: a 404 names a case
 * gone, not the new one, so it is a failure of the link (given up), never `missing`.
 */
async function link(head: OutboxAction, caseId: string, timed: string, deps: OutboxDeps, keepClaim: (callMs: number) => Promise<boolean>, noTimeLeft: () => boolean): Promise<{ readonly created?: CreatedCase } | 'left'> {
  const previous = head.linkTo;
  if (previous === undefined || previous === caseId) return {};
  const datadog = deps.datadog;
  if (head.guard === true) {
    if (!(await keepClaim(DATADOG_TIMEOUT_MS))) return 'left';
    const linked = await callDatadog(deps, undefined, (keys, options) => datadog.isSuccessorLinked(caseId, previous, keys, options));
    if (linked === true) return {};
    if (noTimeLeft()) return 'left';
  }
  if (!(await keepClaim(DATADOG_TIMEOUT_MS))) return 'left';
  const made = await callDatadog(deps, timed, (keys, options) => datadog.linkSuccessor(caseId, previous, keys, options));
  deps.logger.info(made.existed ? 'case link already there' : 'case linked to the previous case', { caseId, previousCaseId: previous, relationship: SUCCESSOR_OF });
  return {};
}

/** The DLQ message of an action given up: today's message kinds, so a redrive works as before. */
function deadLetterOf(head: OutboxAction, entry: LedgerEntry, key: AlertKey, ambiguous: boolean): PendingAction {
  // The delivery's journal record (issue 16): the console's replay button runs that delivery again.
  const base = { source: key.source as SourceName, identity: key.identity, deliveryId: head.deliveryId, ...(head.journalId !== undefined ? { journalId: head.journalId } : {}), rule: head.rule ?? entry.rule, attempt: head.tries ?? 0, firstSeen: head.createdAt };
  if (head.kind === 'create') {
    return { kind: 'create_case', ...base, request: head.request as CaseCreateRequest, intentId: entry.intentId, marker: entry.marker, ambiguous: ambiguous || head.guard === true };
  }
  const caseId = head.caseId ?? entry.caseId ?? '';
  if (head.kind === 'comment') return { kind: 'comment', ...base, caseId, text: `${head.text ?? ''}\n\n${updateMarkerLine(head.id)}` };
  return { kind: 'set_status', ...base, caseId, status: head.status ?? 'CLOSED' };
}

/**
 * The entry after an action was dead-lettered: the action dropped. A create given up with a known
 * outcome gives the intent up (generation 0: the create is dropped with the rest of the outbox and
 * the entry is left `closed` ABANDONED, so the next firing makes a new case); one that may have
 * reached Datadog keeps it, flagged, so the next firing looks the case up first.
 */
function givenUp(entry: LedgerEntry, head: OutboxAction, ambiguous: boolean): LedgerEntry {
  const rest = (entry.outbox ?? []).filter((a) => a.id !== head.id);
  if (head.kind !== 'create') return rest.length === 0 ? released(entry, []) : { ...entry, outbox: rest };
  if (ambiguous || head.guard === true) return { ...released(entry, []), ambiguousIntentId: entry.intentId };
  return { ...released(entry, []), state: 'closed', closedBy: 'bridge', closedStatus: ABANDONED_STATUS, caseId: undefined, ambiguousIntentId: undefined };
}

/** Arms the watchdog of an alert before a transition that owes Datadog effects. */
export async function armWatchdog(key: AlertKey, deps: OutboxDeps, delaySeconds: number): Promise<void> {
  await storing(`arm the watchdog of ${key.identity}`, () => deps.queue.arm(outboxTrigger(key.source as SourceName, key.identity, deps.now()), { delaySeconds, reason: WATCHDOG_REASON }));
  if (STEP_HOOKS && deps.steps !== undefined) await deps.steps('watchdog.armed', { source: key.source, identity: key.identity });
}
