import { describe, expect, it } from 'vitest';
import { isReplayEvent, parseReplayRequest, replayDeliveries, REPLAY_EVENT_KEY, REPLAY_MARGIN_MS, ReplayRequestError } from '../../lambda/ingest/replay.js';
import { MemoryArchive, MemoryJournal } from '../../lambda/journal/memory.js';
import { MemoryLedger } from '../../lambda/ledger/memory-ledger.js';
import { loadRulesFile, PRESET_RULES_FILE } from '../../lambda/mapping/load-rules-file.js';
import { asReplay, decide } from '../../lambda/lifecycle/decide.js';
import { DEFAULT_LIFECYCLE_POLICY } from '../../lambda/lifecycle/policy.js';
import type { LedgerEntry } from '../../lambda/ledger/types.js';

describe('the replay request (npm run replay, the console, the deployed replay event)', () => {
  it('takes ids or a selection, and apply', () => {
    expect(parseReplayRequest({ ids: ['d1'], apply: true })).toEqual({ ids: ['d1'], apply: true });
    expect(parseReplayRequest({ source: 'github', since: 1, until: 2, failed: true, apply: false })).toEqual({ source: 'github', since: 1, until: 2, failed: true, apply: false });
  });

  it.each([
    [{ ids: ['d1'] }, 'apply'],
    [{ apply: true }, 'name delivery ids, or a time range'],
    [{ ids: ['d1'], since: 1, apply: true }, 'not both'],
    [{ ids: ['d1'], apply: true, extra: 1 }, 'not a replay request'],
    [{ ids: Array.from({ length: 201 }, (_, i) => `d${i}`), apply: false }, 'not a replay request'],
  ])('refuses %j', (json, message) => {
    expect(() => parseReplayRequest(json)).toThrow(ReplayRequestError);
    expect(() => parseReplayRequest(json)).toThrow(message);
  });

  it('tells the replay event from an API Gateway event and an EventBridge one', () => {
    expect(isReplayEvent({ [REPLAY_EVENT_KEY]: { ids: ['d1'], apply: false } })).toBe(true);
    expect(isReplayEvent({ version: '2.0', routeKey: 'POST /webhooks/{source}', [REPLAY_EVENT_KEY]: {} })).toBe(false);
    expect(isReplayEvent({ source: 'aws.cloudwatch', 'detail-type': 'CloudWatch Alarm State Change' })).toBe(false);
    expect(isReplayEvent(null)).toBe(false);
  });
});

describe('a replayed event is no new occurrence (asReplay)', () => {
  const now = Date.parse('2026-03-01T12:00:00Z');
  const open: LedgerEntry = {
    source: 'github', identity: 'a', state: 'open', generation: 0, intentId: 'i', marker: 'm', caseId: 'c1', caseKey: 'DDFC-1',
    createStartedAt: now - 3_600_000, openedAt: now - 3_600_000, firstSeen: now - 3_600_000, lastSeen: now - 3_600_000, occurrences: 1, commentedOccurrences: 1, reopenCount: 0,
  } as LedgerEntry;
  const firing = { signal: 'firing' as const, occurredAt: now - 3_600_000 };

  it('sends no repeat comment and counts nothing, where a webhook would', () => {
    const webhook = decide(open, firing, DEFAULT_LIFECYCLE_POLICY, now);
    expect(webhook).toMatchObject({ reason: 'repeat_commented', record: true });

    expect(asReplay(webhook)).toEqual({ actions: [], reason: 'repeat_coalesced', record: false, verify: false });
  });

  it('keeps a create: an alert without its case gets one', () => {
    const create = decide(undefined, firing, DEFAULT_LIFECYCLE_POLICY, now);
    expect(asReplay(create)).toBe(create);
  });
});

describe('replayDeliveries in a Lambda invocation', () => {
  it('starts no delivery with less than REPLAY_MARGIN_MS left, and says to replay it again', async () => {
    const journal = new MemoryJournal();
    const archive = new MemoryArchive();
    const receivedAt = Date.parse('2026-03-01T12:00:00Z');
    const { key } = await archive.put({ source: 'github', id: 'd1', receivedAt, body: new TextEncoder().encode('{}'), headers: {} });
    await journal.update('d1', () => ({ v: 1, id: 'd1', source: 'github', receivedAt, answer: { status: 202, code: 'no_match' }, status: 'no_match', verified: true, identities: [], events: [], archiveKey: key, timings: { totalMs: 1 }, updatedAt: receivedAt }));
    let applied = 0;

    const report = await replayDeliveries(
      { ids: ['d1'], apply: true },
      { rules: loadRulesFile(PRESET_RULES_FILE), ledger: new MemoryLedger(), journal, archive, remainingMs: () => REPLAY_MARGIN_MS - 1, apply: async () => {
        applied += 1;
        return { delivery: 'd2', status: 'created', answer: { status: 201, body: {} } };
      } },
    );

    expect(report.items).toEqual([{ original: 'd1', source: 'github', receivedAt, originalStatus: 'no_match', result: 'skipped', why: 'not reached: the invocation ran out of time; replay it again (by id)' }]);
    expect(applied).toBe(0);
  });
});
