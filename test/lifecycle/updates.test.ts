import { describe, expect, it } from 'vitest';
import { resolvePolicy } from '../../lambda/lifecycle/policy.js';
import { alertWorkOf, commentText, deferDelaySeconds, DEFER_REASON, pendingEventOf } from '../../lambda/lifecycle/run.js';
import { planBatch } from '../../lambda/lifecycle/updates.js';
import type { PendingAction } from '../../lambda/shared/queue.js';
import { encodeQueuedMessage, readQueuedMessage } from '../../lambda/shared/sqs-queue.js';

const base = { source: 'alertmanager', deliveryId: undefined, identity: 'g', rule: 'r', attempt: 0, firstSeen: '2026-01-01T00:00:00.000Z' } as const;
const comment = (caseId: string, text: string, occurrences = 1): PendingAction => ({ kind: 'comment', ...base, caseId, text, occurrences });
const create: PendingAction = { kind: 'create_case', ...base, request: { data: { type: 'case', attributes: { title: 't', type_id: 'x' }, relationships: { project: { data: { id: 'p', type: 'project' } } } } } };

describe('planBatch', () => {
  it('puts creates first and merges the comments queued for one case', () => {
    const plan = planBatch([
      { id: 'a', action: comment('c1', 'one', 2) },
      { id: 'b', action: { kind: 'set_status', ...base, caseId: 'c1', status: 'CLOSED' } },
      { id: 'c', action: create },
      { id: 'd', action: comment('c1', 'two', 3) },
      { id: 'e', action: comment('c2', 'other') },
    ]);
    expect(plan.map((p) => [p.action.kind, p.ids])).toEqual([
      ['create_case', ['c']],
      ['comment', ['a', 'd']],
      ['set_status', ['b']],
      ['comment', ['e']],
    ]);
    expect(plan[1]?.action).toMatchObject({ text: 'one\n\ntwo', occurrences: 5 });
  });
});

describe('commentText', () => {
  const work = { source: 'alertmanager' as const, request: undefined, summary: 'alert.firing' };
  it('says how often it fired, and when it resolved', () => {
    expect(commentText('repeat', 3, work, 0)).toBe('Fired again (3 more times since the last update). Latest: alert.firing');
    expect(commentText('repeat', 1, work, 0)).toBe('Fired again (1 more time since the last update). Latest: alert.firing');
    expect(commentText('resolved', 0, work, Date.parse('2026-03-01T10:00:00Z'))).toBe('Resolved at 2026-03-01T10:00:00.000Z by alertmanager.');
    expect(commentText('reopened', 1, work, 0)).toBe('Fired again after being closed: reopening.');
  });
});

describe('queued message schema', () => {
  it('still reads a create written before issue 4, and reads the new kinds', () => {
    const old = { v: 1, disposition: 'retry', action: create, reason: '429', enqueuedAt: 'now' };
    expect(readQueuedMessage(JSON.stringify(old))).toMatchObject({ ok: true, message: { action: { kind: 'create_case' } } });
    const withIntent = { ...old, action: { ...create, intentId: 'i', marker: 'casebridge0123', ambiguous: true } };
    expect(readQueuedMessage(JSON.stringify(withIntent))).toMatchObject({ ok: true, message: { action: { intentId: 'i', ambiguous: true } } });
    expect(readQueuedMessage(JSON.stringify({ ...old, action: comment('c1', 'hi') }))).toMatchObject({ ok: true, message: { action: { kind: 'comment', caseId: 'c1' } } });
    expect(readQueuedMessage(JSON.stringify({ ...old, action: { kind: 'set_status', ...base, caseId: 'c1', status: 'CLOSED' } }))).toMatchObject({ ok: true });
  });

  it('round-trips a deferred alert event with its policy, and refuses one without a policy (#4)', () => {
    const work = { source: 'alertmanager' as const, identity: 'g', rule: undefined, signal: 'resolved' as const, deliveryId: 'd-1', request: undefined, summary: 'alert.resolved', policy: resolvePolicy({ on_resolve: 'comment' }) };
    const pending = pendingEventOf(work, 1, Date.parse('2026-03-01T10:00:00Z'));
    const read = readQueuedMessage(encodeQueuedMessage({ v: 1, disposition: 'retry', action: pending, reason: DEFER_REASON, enqueuedAt: 'now' }));

    expect(read).toEqual({ ok: true, message: { v: 1, disposition: 'retry', action: pending, reason: DEFER_REASON, enqueuedAt: 'now' } });
    expect(read.ok && read.message.action.kind === 'lifecycle_event' ? alertWorkOf(read.message.action) : undefined).toEqual({ ...work, occurredAt: Date.parse('2026-03-01T10:00:00Z'), attempt: 1 });
    const { policy: _policy, ...withoutPolicy } = pending;
    expect(readQueuedMessage(JSON.stringify({ v: 1, disposition: 'retry', action: withoutPolicy, reason: 'x', enqueuedAt: 'now' }))).toMatchObject({ ok: false });
  });
});

describe('deferDelaySeconds', () => {
  it.each([
    [1, 0, 5],
    [2, 0, 10],
    [7, 0.99, 321],
    [20, 0, 900],
  ])('after deferral %i with random %d waits %i s', (attempt, random, seconds) => {
    expect(deferDelaySeconds(attempt, () => random)).toBe(seconds);
  });
});
