import { describe, expect, it } from 'vitest';
import { ABANDONED_STATUS, DELETED_STATUS, type LedgerEntry } from '../../lambda/ledger/types.js';
import { decideNote, MAX_NOTE_LENGTH, noteActionId, noteText } from '../../lambda/lifecycle/note.js';
import { openLedgerEntry } from '../support/fakes.js';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const key = { source: 'pagerduty', identity: 'Q2XK7RB9ZT1M' };
const open: LedgerEntry = openLedgerEntry(key, T0, { caseId: 'case-1', caseKey: 'DDFC-1' });
const id = noteActionId(key, 'PNOTE4K2');

describe('decideNote (#17)', () => {
  it.each([
    ['an open case', open, { kind: 'comment', caseId: 'case-1' }],
    ['a case resolved at the source', { ...open, state: 'resolved' as const }, { kind: 'comment', caseId: 'case-1' }],
    ['a case the bridge closed', { ...open, state: 'closed' as const, closedStatus: 'CLOSED', closedBy: 'bridge' as const }, { kind: 'comment', caseId: 'case-1' }],
    ['a case a human closed as won\'t fix', { ...open, state: 'closed' as const, closedStatus: "Won't fix", closedBy: 'human' as const }, { kind: 'comment', caseId: 'case-1' }],
    ['a create in flight: behind it', { ...open, state: 'creating' as const, caseId: undefined }, { kind: 'comment', caseId: undefined }],
    ['no entry', undefined, { kind: 'none', reason: 'no_case' }],
    ['a case deleted in Datadog', { ...open, state: 'closed' as const, closedStatus: DELETED_STATUS, closedBy: 'human' as const }, { kind: 'none', reason: 'no_case' }],
    ['a create given up', { ...open, state: 'closed' as const, closedStatus: ABANDONED_STATUS, caseId: undefined }, { kind: 'none', reason: 'no_case' }],
    ['the same note still in the outbox', { ...open, outbox: [{ id, kind: 'comment' as const, createdAt: T0 }] }, { kind: 'none', reason: 'note_pending' }],
  ])('%s', (_name, entry, expected) => {
    expect(decideNote(entry, id)).toEqual(expected);
  });

  it('derives the action id from the alert and the note id only, in the outbox ids\' form', () => {
    expect(id).toMatch(/^cbu[0-9a-f]{20}$/);
    expect(noteActionId(key, 'PNOTE4K2')).toBe(id);
    expect(noteActionId(key, 'PNOTE7Q1')).not.toBe(id);
    expect(noteActionId({ ...key, identity: 'OTHER' }, 'PNOTE4K2')).not.toBe(id);
  });
});

describe('noteText (#17)', () => {
  it('names the source and author, then the text, then the link', () => {
    expect(noteText('pagerduty', { id: 'n', text: 'Rolled back.', author: 'Sam Rivera', link: 'https://acme.pagerduty.com/incidents/Q1' })).toBe('Note from pagerduty by Sam Rivera:\n\nRolled back.\n\nhttps://acme.pagerduty.com/incidents/Q1');
    expect(noteText('opsgenie', { id: 'n', text: 'Watching.', author: undefined, link: undefined })).toBe('Note from opsgenie:\n\nWatching.');
  });

  it('cuts a very long note, keeping the link to the whole of it', () => {
    const text = noteText('pagerduty', { id: 'n', text: 'x'.repeat(MAX_NOTE_LENGTH + 100), author: 'A', link: 'https://l' });
    expect(text.length).toBeLessThan(MAX_NOTE_LENGTH + 100);
    expect(text).toMatch(/x…\n\nhttps:\/\/l$/);
  });

  it('never cuts inside a surrogate pair', () => {
    const emoji = '\u{1F525}';
    const text = noteText('pagerduty', { id: 'n', text: `${'x'.repeat(MAX_NOTE_LENGTH - 2)}${emoji.repeat(10)}`, author: undefined, link: undefined });
    expect(text.endsWith('x…')).toBe(true);
    expect(text).not.toMatch(/[\uD800-\uDBFF]…/);
  });
});
