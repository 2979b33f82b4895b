import type { DeliveryAction, DeliveryJournal } from '../journal/types.js';
import { timeOfDeliveryId } from '../journal/types.js';
import { withFollowUp } from '../journal/trace.js';
import type { Logger } from '../shared/log.js';
import type { BridgeMetrics } from '../shared/metrics.js';

/**
 * How long the retry function waits for a record's follow-up writes (ms): its batch budget
 * (RECORD_START_MS) leaves no room for a journal that stops answering.
 */
export const FOLLOW_UP_WAIT_MS = 500;

/**
 * Follow-ups (issue 16): the journal records of deliveries whose actions this invocation finished,
 * queued again or dead-lettered (the retry function; or a webhook whose run of the alert's outbox
 * finished an earlier delivery's work). Each write starts at once and runs beside the work; `settle`
 * waits for them all. A failed write is counted (JournalFailed, outcome `follow_up`) and logged, never
 * thrown: the journal tells what happened, it never decides it.
 */
export class FollowUps {
  private readonly writes: Promise<void>[] = [];
  /** The source of the first follow-up (the metric's dimension). */
  private source: string | undefined;

  constructor(
    private readonly journal: DeliveryJournal | undefined,
    private readonly metrics: BridgeMetrics,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {}

  report(source: string, journalId: string | undefined, action: DeliveryAction): void {
    this.source ??= source;
    const journal = this.journal;
    if (journal === undefined || journalId === undefined) return;
    const receivedAt = timeOfDeliveryId(journalId) ?? this.now();
    this.writes.push(
      journal.update(journalId, (current) => withFollowUp(current, journalId, source, action, receivedAt)).then(
        () => undefined,
        (error: unknown) => {
          this.metrics.outcome('JournalFailed', source, 'follow_up');
          this.logger.error('journal record not updated; the action itself is done', { delivery: journalId, action: action.kind, outcome: action.outcome, error });
        },
      ),
    );
  }

  /**
   * Waits for every write started so far, at most `waitMs` when given (a journal that stops answering
   * must not hold the work: the late writes go on, counted as JournalFailed `late` and logged). Never throws.
   */
  async settle(waitMs?: number): Promise<void> {
    const all = Promise.all(this.writes.splice(0)).then(() => true);
    if (waitMs === undefined) {
      await all;
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), waitMs);
    });
    const settled = await Promise.race([all, late]);
    clearTimeout(timer);
    if (!settled) {
      this.metrics.outcome('JournalFailed', this.source ?? 'unknown', 'late');
      this.logger.warn('journal follow-ups not written in time; they go on in the background', { waitMs });
    }
  }
}
