import type { AlertKey, LedgerEntry, OutboxAction } from '../ledger/types.js';
import { newIntentId } from '../ledger/intent-id.js';
import { decideNote, noteActionId, noteText } from '../lifecycle/note.js';
import type { AlertWork } from '../lifecycle/work.js';
import type { SourceNote } from '../sources/types.js';
import { WATCHDOG_DELAY_SECONDS } from '../shared/budgets.js';
import { armWatchdog, claimed, runOutbox, type OutboxDeps } from './outbox.js';
import type { LifecycleOutcome } from './run.js';
import { STEP_HOOKS } from './steps.js';
import { LedgerError } from '../shared/errors.js';

/** Conditional writes a note tries (each on a fresh read) before its delivery is answered 503 and sent again. */
const NOTE_WRITE_ROUNDS = 5;

/**
 * A human's note through the ledger (issue 17, `on_note: comment`; the rules in prose are in
 * lambda/lifecycle/note.ts): its comment is written ahead into the alert's outbox under an id derived
 * from the note's id, always guarded, in the same conditional write as any other transition, then
 * the outbox is worked. Nothing else of the entry changes: a note is no firing (no occurrence, no
 * reopen) and not a repeat (the comment interval does not apply).
 */
export async function runNote(work: AlertWork & { readonly note: SourceNote }, deps: OutboxDeps): Promise<LifecycleOutcome> {
  const key: AlertKey = { source: work.source, identity: work.identity };
  const id = noteActionId(key, work.note.id);
  // A write that lost its condition (another delivery changed the entry) is decided again on a fresh read.
  for (let round = 0; ; round += 1) {
    const now = deps.now();
    const entry = await deps.ledger.get(work.source, work.identity);
    const d = decideNote(entry, id);
    if (entry === undefined || d.kind === 'none') {
      const reason = d.kind === 'none' ? d.reason : 'no_case';
      deps.logger.info(reason === 'no_case' ? 'note ignored: the alert has no case' : 'note already owed to the case', { identity: work.identity, noteId: work.note.id });
      return { status: 'deduplicated', reason, caseId: entry?.caseId, caseKey: entry?.caseKey };
    }
    const action: OutboxAction = {
      id,
      kind: 'comment',
      purpose: 'comment',
      createdAt: now,
      // Guarded from the start: a redelivery of a note already posted finds its marker line in the timeline.
      guard: true,
      text: noteText(work.source, work.note),
      caseId: d.caseId,
      rule: work.rule ?? entry.rule,
      deliveryId: work.deliveryId,
      journalId: work.journalId,
    };
    const appended: LedgerEntry = { ...entry, outbox: [...(entry.outbox ?? []), action] };
    const claimVoid = !(entry.claimUntil !== undefined && entry.claimUntil > now && entry.claimId !== undefined);
    const me = newIntentId();
    const next = claimVoid ? claimed(appended, me, now) : appended;
    await armWatchdog(key, deps, WATCHDOG_DELAY_SECONDS);
    if (!(await deps.ledger.swap(entry, next))) {
      if (round < NOTE_WRITE_ROUNDS - 1) continue;
      // Not written: answering it handled would lose the note. A 503: the sender sends it again.
      throw new LedgerError(`the note ${work.note.id} of ${work.identity} was not written: the alert's ledger entry changed under ${NOTE_WRITE_ROUNDS} writes`);
    }
    if (STEP_HOOKS && deps.steps !== undefined) await deps.steps('transition.written', key);
    deps.metrics?.count('CasesCommented', work.source);
    const run = await runOutbox(key, deps, me);
    const queued: string[] = [...run.retrying, ...run.deadLettered].map((a) => a.purpose ?? a.kind);
    if (run.status === 'left' || run.status === 'busy' || (run.status === 'waiting' && run.retrying.length === 0)) queued.push('pending');
    const caseId = entry.caseId ?? run.created?.id;
    const caseKey = entry.caseKey ?? run.created?.key;
    deps.logger.info('note mirrored', { caseId, caseKey, noteId: work.note.id, queued });
    // Behind a create still in flight: owed to the case it makes.
    if (caseId === undefined) return { status: 'deduplicated', reason: 'note_pending', caseId, caseKey };
    return { status: 'updated', reason: 'note_commented', caseId, caseKey, queued };
  }
}
