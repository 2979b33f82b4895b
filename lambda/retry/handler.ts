import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { DatadogClient, DatadogKeys } from '../datadog/client.js';
import type { Outcome } from '../delivery/outcome.js';
import type { Logger } from '../shared/log.js';
import { noopMetrics, UNKNOWN_SOURCE, type BridgeMetrics } from '../shared/metrics.js';
import type { Ledger } from '../ledger/types.js';
import { alertWorkOf, runLifecycle } from '../delivery/run.js';
import { planBatch, retryCreate, sendUpdate } from '../delivery/updates.js';
import type { SecretsProvider } from '../shared/secrets.js';
import { isoTime } from '../shared/time.js';
import { readQueuedMessage, type ActionQueue, type PendingAction, type ReadResult } from '../delivery/queue.js';
import type { UnreadableMessageSink } from '../delivery/sqs-queue.js';
import type { Pacer } from '../delivery/rate-budget.js';
import { runOutbox } from '../delivery/outbox.js';
import { outboxTrigger, WATCHDOG_REASON } from '../delivery/queue.js';
import { STEP_HOOKS, type StepHook } from '../delivery/steps.js';
import { RECORD_START_MS } from '../shared/budgets.js';
import type { DeliveryJournal } from '../journal/types.js';
import { FOLLOW_UP_WAIT_MS, FollowUps } from '../delivery/journal.js';

export interface RetryDeps {
  readonly datadog: DatadogClient;
  readonly secrets: SecretsProvider;
  /**
   * The dedup ledger (issue 4): queued creates go ahead only while they still hold the alert's create
   * intent; comments and status changes need it to record a deleted case.
   */
  readonly ledger: Ledger;
  readonly now?: () => number;
  /**
   * Where a deferred case goes next (a new delayed message) or gives up (the DLQ). With
   * `deadLetterUnreadable` (SqsActionQueue), unreadable messages go to the DLQ at once; without it
   * they are reported as failures and SQS's redrive policy moves them after maxReceiveCount.
   */
  readonly queue: ActionQueue & Partial<UnreadableMessageSink>;
  readonly logger: Logger;
  readonly random?: () => number;
  /** RetriesSucceeded, DeadLettered and, through deliverCase, the Datadog outcomes. @default no-op */
  readonly metrics?: BridgeMetrics;
  /** See MARKER_SEARCH_SETTLE_SECONDS. @default 60 */
  readonly markerSearchSettleSeconds?: number;
  /** The shared rate budget (issue 15): a record waits up to RETRY_PACE_WAIT_MS for its slot, else goes back to the queue. @default none */
  readonly pace?: Pacer;
  /** Waits for a slot (injected with a fake clock in tests). @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Test-only crash-point hook (lambda/delivery/steps.ts). */
  readonly steps?: StepHook;
  /**
   * Time left in the invocation (ms): an outbox stops before a Datadog call that would not fit, and the
   * batch starts no record with less than RECORD_START_MS left. @default the invocation's, else unbounded
   */
  readonly remainingMs?: () => number;
  /**
   * The delivery journal (issue 16): each action this function finishes, queues again or
   * dead-letters is added to its delivery's record (a follow-up). A failed write is counted and
   * logged; the action's outcome stands. @default none
   */
  readonly journal?: DeliveryJournal | undefined;
}

/**
 * How long a record waits for its rate-budget slot. SQS delays are whole seconds, so a record comes
 * back up to a second before its slot and waits the rest here.
 */
export const RETRY_PACE_WAIT_MS = 3000;

/** What happened to one record; `failed` records are reported to SQS for redelivery. */
export type RecordOutcome = Outcome['status'] | 'unreadable' | 'failed';

export const UNREADABLE_REASON = 'unreadable message';
export const NO_KEYS_REASON = 'the bridge secret has no DD_API_KEY / DD_APP_KEY: the case cannot be sent to Datadog';

function keysOf(bag: Readonly<Record<string, string>>): DatadogKeys | undefined {
  const apiKey = bag['DD_API_KEY'];
  const appKey = bag['DD_APP_KEY'];
  return apiKey && appKey ? { apiKey, appKey } : undefined;
}

/**
 * The retry queue's consumer (Lambda SQS event source with ReportBatchItemFailures, or the local
 * consumer). Records are handled one after another, which paces the calls to Datadog. A record is
 * reported as a batch item failure only when its work could not be stored anywhere (queue or
 * secret failure): SQS then delivers it again, and after maxReceiveCount its redrive policy moves
 * it to the DLQ. Nothing is lost and nothing loops forever.
 */
export function createRetryHandler(deps: RetryDeps): (event: SQSEvent, remainingMs?: () => number) => Promise<SQSBatchResponse> {
  /** The invocation's time left (Lambda), else the deps' (tests), else unbounded. */
  let invocationRemaining: (() => number) | undefined;
  const metrics = deps.metrics ?? noopMetrics;

  /** One record, read once by the batch loop; `merged`: the comments of several records merged into one. */
  async function handleRecord(record: SQSRecord, read: ReadResult, merged?: PendingAction): Promise<RecordOutcome> {
    const log = deps.logger.child({ messageId: record.messageId });
    if (!read.ok) {
      const reason = `${UNREADABLE_REASON}: ${read.reason}`;
      if (deps.queue.deadLetterUnreadable === undefined) {
        log.error('unreadable retry message; left to the queue redrive policy', { reason });
        return 'failed';
      }
      await deps.queue.deadLetterUnreadable(record.body, { reason, messageId: record.messageId });
      metrics.count('DeadLettered', UNKNOWN_SOURCE);
      log.error('unreadable retry message dead-lettered', { reason });
      return 'unreadable';
    }

    const { message } = read;
    // A message the bridge itself dead-lettered and an operator redrove starts over.
    const redriven = message.disposition === 'dead_letter';
    const queued = merged ?? message.action;
    const action: PendingAction = redriven ? { ...queued, attempt: 0 } : queued;
    const elog = log.child({ source: action.source, deliveryId: action.deliveryId, identity: action.identity });
    if (redriven) elog.info('redriven case: trying again from attempt 0', { previousReason: message.reason, previousAttempt: message.action.attempt });

    const followUps = new FollowUps(deps.journal, metrics, elog, deps.now ?? Date.now);
    try {
      return await handleAction(action, elog, followUps);
    } finally {
      await followUps.settle(FOLLOW_UP_WAIT_MS);
    }
  }

  async function handleAction(action: PendingAction, elog: Logger, followUps: FollowUps): Promise<RecordOutcome> {
    const at = (deps.now ?? Date.now)();
    const bag = await deps.secrets.get();
    const keys = keysOf(bag);
    if (keys === undefined) {
      await deps.queue.deadLetter(action, { reason: NO_KEYS_REASON });
      metrics.count('DeadLettered', action.source);
      elog.error('case dead-lettered', { reason: NO_KEYS_REASON });
      followUps.report(action.source, action.journalId, { kind: action.kind === 'create_case' ? 'create' : action.kind === 'comment' ? 'comment' : action.kind === 'set_status' ? 'status' : 'defer', outcome: 'dead_lettered', reason: NO_KEYS_REASON, at });
      return 'dead_lettered';
    }
    const updateDeps = {
      onAction: (key: { source: string }, a: { journalId?: string | undefined }, report: Parameters<FollowUps['report']>[2]) => followUps.report(key.source, a.journalId, report),
      datadog: deps.datadog,
      keys: {
        get: async () => keys,
        refresh: async () => keysOf(await deps.secrets.refresh()) ?? { apiKey: '', appKey: '' },
      },
      queue: deps.queue,
      logger: elog,
      ...(deps.random ? { random: deps.random } : {}),
      metrics,
      ledger: deps.ledger,
      now: deps.now ?? Date.now,
      markerSearchSettleSeconds: deps.markerSearchSettleSeconds,
      pace: deps.pace,
      paceWaitMs: RETRY_PACE_WAIT_MS,
      sleep: deps.sleep,
      remainingMs: deps.remainingMs ?? invocationRemaining,
    };
    if (action.kind === 'lifecycle_event') {
      // A deferred event (a resolve that arrived while its case was being created): decided afresh.
      const outcome = await runLifecycle(alertWorkOf(action), updateDeps);
      elog.info('deferred alert event run again', { signal: action.signal, attempt: action.attempt, status: outcome.status, reason: outcome.reason });
      // Its outbox actions report themselves; a deferral given up, deferred again or with nothing left to do is the event's own.
      const now = updateDeps.now();
      if (outcome.status === 'dead_lettered') followUps.report(action.source, action.journalId, { kind: 'defer', outcome: 'dead_lettered', reason: outcome.reason, at: now });
      else if (outcome.status === 'queued' && outcome.reason === 'resolve_deferred') followUps.report(action.source, action.journalId, { kind: 'defer', outcome: 'queued', retryInSeconds: outcome.retryInSeconds, reason: outcome.reason, at: now });
      else if (outcome.status === 'deduplicated') followUps.report(action.source, action.journalId, { kind: 'defer', outcome: 'dropped', reason: outcome.reason, at: now });
      if (outcome.status === 'updated') return 'sent';
      if (outcome.status === 'deduplicated') return 'dropped';
      return outcome.status;
    }
    if (action.kind === 'outbox') {
      // A trigger (watchdog, retry delay, re-arm): the work is on the alert's ledger entry.
      const run = await runOutbox({ source: action.source, identity: action.identity }, { ...updateDeps, steps: deps.steps });
      if ((run.status === 'busy' || run.status === 'left') && run.dueAt !== undefined) {
        const delaySeconds = Math.max(1, Math.ceil((run.dueAt - updateDeps.now()) / 1000) + 1);
        await deps.queue.arm(outboxTrigger(action.source, action.identity, updateDeps.now()), { delaySeconds, reason: WATCHDOG_REASON });
        if (STEP_HOOKS && deps.steps !== undefined) await deps.steps('rearm.enqueued', { source: action.source, identity: action.identity });
      }
      // A watchdog that finds the work done (every first firing arms one) is routine: debug, not an info line per alert (docs/cost.md).
      const idle = run.status === 'done' && run.done.length + run.deadLettered.length + run.retrying.length === 0;
      (idle ? elog.debug : elog.info).call(elog, 'alert outbox worked', { status: run.status, done: run.done.length, deadLettered: run.deadLettered.length, retrying: run.retrying.length });
      if (run.created !== undefined) metrics.count('RetriesSucceeded', action.source);
      return run.deadLettered.length > 0 ? 'dead_lettered' : run.retrying.length > 0 || run.status === 'waiting' ? 'queued' : run.done.length > 0 ? 'sent' : 'dropped';
    }
    if (action.kind !== 'create_case') {
      const updated = await sendUpdate(action, updateDeps);
      if (updated.status === 'sent') elog.info('case updated from the retry queue', { kind: action.kind, caseId: action.caseId, attempt: action.attempt });
      return updated.status;
    }
    const outcome = await retryCreate(action, updateDeps);
    if (outcome.status === 'created') {
      metrics.count('RetriesSucceeded', action.source);
      elog.info('case created from the retry queue', { rule: action.rule, attempt: action.attempt, firstSeen: isoTime(action.firstSeen), caseId: outcome.case.id, caseKey: outcome.case.key });
    }
    return outcome.status;
  }

  return async (event, remainingMs) => {
    invocationRemaining = remainingMs;
    const batchItemFailures: SQSBatchItemFailure[] = [];
    // Each record is read once. Creates first, then updates; comments queued for the same case merged
    // (unreadable and redriven ones first, one by one).
    const retries: { record: SQSRecord; read: ReadResult; action: PendingAction }[] = [];
    const others: { record: SQSRecord; read: ReadResult }[] = [];
    for (const record of event.Records) {
      const read = readQueuedMessage(record.body);
      if (read.ok && read.message.disposition === 'retry') retries.push({ record, read, action: read.message.action });
      else others.push({ record, read });
    }
    const plan = [...others.map((item) => ({ items: [item], action: undefined })), ...planBatch(retries)];
    const remaining = deps.remainingMs ?? invocationRemaining;
    for (const [index, { items, action }] of plan.entries()) {
      const left = remaining?.();
      if (left !== undefined && left < RECORD_START_MS) {
        // Too little time for one more record's worst case: SQS delivers the rest again, not the whole batch.
        const rest = plan.slice(index).flatMap((p) => p.items.map((i) => i.record.messageId));
        deps.logger.warn('retry batch stopped: too little time left for another record; SQS will deliver the rest again', { remainingMs: left, recordStartMs: RECORD_START_MS, records: rest.length });
        batchItemFailures.push(...rest.map((itemIdentifier) => ({ itemIdentifier })));
        break;
      }
      const first = items[0]!;
      try {
        const outcome = await handleRecord(first.record, first.read, items.length > 1 ? action : undefined);
        if (outcome === 'failed') batchItemFailures.push(...items.map((i) => ({ itemIdentifier: i.record.messageId })));
      } catch (error) {
        // QueueError, a secret that cannot be read, anything unexpected: SQS delivers it again.
        deps.logger.error('retry record failed; SQS will deliver it again', { messageId: first.record.messageId, error });
        batchItemFailures.push(...items.map((i) => ({ itemIdentifier: i.record.messageId })));
      }
    }
    return { batchItemFailures };
  };
}
