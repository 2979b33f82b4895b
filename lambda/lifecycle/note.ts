import { hash } from 'node:crypto';
import { MAX_DESCRIPTION_LENGTH } from '../datadog/limits.js';
import { DELETED_STATUS, isAbandoned, type AlertKey, type LedgerEntry } from '../ledger/types.js';
import type { SourceNote } from '../sources/types.js';

/**
 * Human notes (issue 17, `on_note: comment`): each note is its own comment on the alert's case, with
 * its author and link, never coalesced with repeats (comment_interval_seconds does not apply).
 *
 * A note is deduplicated by its id: its outbox action's id derives from the note's id (not from the
 * outbox sequence), and the action is always guarded, so the outbox reads the case's timeline for
 * that id's marker line before posting. A redelivered note is therefore either still in the outbox
 * (`note_pending`) or found already posted by the guard; it is never posted twice.
 */
export type NoteDecision =
  /** Append the note's comment; `caseId` undefined: behind the create in flight (the case it makes). */
  | { readonly kind: 'comment'; readonly caseId: string | undefined }
  | { readonly kind: 'none'; readonly reason: 'no_case' | 'note_pending' };

/** The outbox action id of a note's comment: `cbu` + 20 hex, like every outbox action, from the note's id. */
export function noteActionId(key: AlertKey, noteId: string): string {
  return `cbu${hash('sha256', `${key.source}\n${key.identity}\nnote\n${noteId}`).slice(0, 20)}`;
}

/**
 * Where a note goes: the alert's case whatever its state (a note written after the resolve belongs to
 * the case's story too), or behind its create while one is in flight. An alert with no case (never
 * had one, its case deleted in Datadog, its create given up) takes no note: `no_case`, nothing sent.
 */
export function decideNote(entry: LedgerEntry | undefined, actionId: string): NoteDecision {
  if (entry === undefined) return { kind: 'none', reason: 'no_case' };
  if ((entry.outbox ?? []).some((a) => a.id === actionId)) return { kind: 'none', reason: 'note_pending' };
  if (entry.state === 'creating') return { kind: 'comment', caseId: undefined };
  if (entry.caseId === undefined || isAbandoned(entry) || (entry.state === 'closed' && entry.closedStatus === DELETED_STATUS)) return { kind: 'none', reason: 'no_case' };
  return { kind: 'comment', caseId: entry.caseId };
}

/** Longest note text mirrored (a comment stays well inside what Datadog takes); the link leads to the whole note. */
export const MAX_NOTE_LENGTH = MAX_DESCRIPTION_LENGTH / 2;

/** The comment of a note: who wrote it where, the text, and the link. */
export function noteText(source: string, note: SourceNote): string {
  let text = note.text;
  if (text.length > MAX_NOTE_LENGTH) {
    // Cut in UTF-16 units, never inside a surrogate pair.
    const end = MAX_NOTE_LENGTH - 1 - (/[\uD800-\uDBFF]/.test(text.charAt(MAX_NOTE_LENGTH - 2)) ? 1 : 0);
    text = `${text.slice(0, end).trimEnd()}…`;
  }
  const head = `Note from ${source}${note.author !== undefined ? ` by ${note.author}` : ''}:`;
  return [head, text, ...(note.link !== undefined ? [note.link] : [])].join('\n\n');
}
