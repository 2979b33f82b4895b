import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { caseSchemas } from '../../lambda/datadog/schema.js';
import type { DatadogTestServer } from '../../lambda/local/datadog-server.js';
import type { SourceName } from '../../lambda/sources/index.js';
import { postSigned, type TestBridge } from '../support/local-bridge.js';
import { ledgerBridgePerTest } from '../support/per-test.js';

// Issue 17, through the real local bridge, a real DynamoDB protocol (dynalite) and the local Case
// Management: a human's note (PagerDuty incident.annotated, Opsgenie AddNote) becomes its own comment on
// the alert's case, with author and link, once per note however often it is delivered (item 2); a new
// case after the reopen window is linked to the previous one, best effort (item 5).

const DD_KEYS = { DD_API_KEY: 'test-api-key', DD_APP_KEY: 'test-app-key' } as const;
const fixture = (path: string): string => readFileSync(new URL(`../fixtures/${path}`, import.meta.url), 'utf8');
const headersOf = (path: string): Record<string, string> => JSON.parse(fixture(path)) as Record<string, string>;
const DAY = 24 * 3600_000;
const MARKER_LINE = /\n\ncase-bridge update: cbu[0-9a-f]{20}$/;

interface Answer {
  status?: string;
  reason?: string;
  events?: { status?: string; reason?: string }[];
}

describe('human notes and case lineage (#17)', () => {
  const ledgerBridge = ledgerBridgePerTest('notes');
  let clock = Date.parse('2025-04-02T07:20:00Z');

  /** With `lifecycle`, PagerDuty's and Opsgenie's presets get that lifecycle policy. */
  async function start(lifecycle?: Record<string, unknown>): Promise<{ dd: DatadogTestServer; bridge: TestBridge }> {
    clock = Date.parse('2025-04-02T07:20:00Z');
    const rules = lifecycle === undefined ? undefined : (file: Record<string, unknown>) => {
      for (const source of ['pagerduty', 'opsgenie']) (file as { sources: Record<string, Record<string, unknown>> }).sources[source]!['lifecycle'] = lifecycle;
    };
    const { dd, bridge } = await ledgerBridge.start({ rules, now: () => clock });
    return { dd, bridge };
  }

  async function send(b: TestBridge, source: SourceName, body: string, headers: Record<string, string> = {}, advance = 60_000): Promise<{ status: number; answer: Answer }> {
    clock += advance;
    const res = await postSigned(b.url, source, body, headers);
    return { status: res.status, answer: (await res.json()) as Answer };
  }

  /** A PagerDuty webhook from our fixtures; a note gets its own note id, text and delivery id. */
  function pagerduty(kind: 'triggered' | 'resolved' | 'annotated', note?: { id: string; text: string; delivery: string }): [string, Record<string, string>] {
    let body = fixture(`pagerduty/incident.${kind}.json`);
    const headers = JSON.parse(fixture(`pagerduty/incident.${kind}.headers.json`)) as Record<string, string>;
    if (note !== undefined) {
      body = body.replace('"PNOTE4K2"', JSON.stringify(note.id)).replace('"Rolled back release 2025.04.02-1."', JSON.stringify(note.text));
      headers['X-Webhook-Id'] = note.delivery;
    }
    return [body, headers];
  }

  it('PagerDuty: two notes, each delivered again, then the resolve: one case with three comments, each note once with its author and link', async () => {
    const { dd, bridge } = await start();
    expect((await send(bridge, 'pagerduty', ...pagerduty('triggered'))).status).toBe(201);

    const first = { id: 'PNOTE4K2', text: 'Rolled back release 2025.04.02-1.', delivery: 'note-1' };
    const second = { id: 'PNOTE7Q1', text: 'Error rate back under 0.1%.', delivery: 'note-2' };
    const noted = await send(bridge, 'pagerduty', ...pagerduty('annotated', first));
    expect(noted.status).toBe(202);
    expect(noted.answer).toMatchObject({ status: 'updated', reason: 'note_commented' });
    // The same delivery again is a duplicate delivery; the same note under another delivery id is found posted.
    expect((await send(bridge, 'pagerduty', ...pagerduty('annotated', first))).answer).toMatchObject({ status: 'duplicate' });
    await send(bridge, 'pagerduty', ...pagerduty('annotated', { ...first, delivery: 'note-1-again' }));
    await send(bridge, 'pagerduty', ...pagerduty('annotated', second));
    await send(bridge, 'pagerduty', ...pagerduty('annotated', { ...second, delivery: 'note-2-again' }));
    expect((await send(bridge, 'pagerduty', ...pagerduty('resolved'))).answer).toMatchObject({ status: 'updated', reason: 'resolved_closed' });

    expect(dd.cases).toHaveLength(1);
    const comments = dd.cases[0]?.comments ?? [];
    expect(comments).toHaveLength(3);
    expect(comments[0]).toMatch(/^Note from pagerduty by Sam Rivera:\n\nRolled back release 2025\.04\.02-1\.\n\nhttps:\/\/acme-ops\.pagerduty\.com\/incidents\/Q2XK7RB9ZT1M/);
    expect(comments[0]).toMatch(MARKER_LINE);
    expect(comments[1]).toMatch(/^Note from pagerduty by Sam Rivera:\n\nError rate back under 0\.1%\./);
    expect(comments[2]).toMatch(/^Resolved at .* by pagerduty\./);
    expect(dd.cases[0]?.statusChanges).toEqual(['CLOSED']);
  });

  it('Opsgenie AddNote, sent three times (Opsgenie sends no delivery id): one comment; a note after the close still reaches the case', async () => {
    const { dd, bridge } = await start();
    expect((await send(bridge, 'opsgenie', fixture('opsgenie/Create.json'))).status).toBe(201);
    const note = fixture('opsgenie/AddNote.json');
    const answers = [];
    for (let i = 0; i < 3; i += 1) answers.push((await send(bridge, 'opsgenie', note)).answer);
    expect(answers.map((a) => a.reason)).toEqual(['note_commented', 'note_commented', 'note_commented']);
    await send(bridge, 'opsgenie', fixture('opsgenie/Close.json'));
    const later = note.replace('Flushed stale keys, watching.', 'Root cause: a cron job filling the cache.').replace('1746524800000000001', '1746527000000000001');
    expect((await send(bridge, 'opsgenie', later)).answer).toMatchObject({ status: 'updated', reason: 'note_commented' });

    expect(dd.cases).toHaveLength(1);
    const comments = dd.cases[0]?.comments ?? [];
    expect(comments.map((c) => c.split('\n')[0])).toEqual(['Note from opsgenie by System:', expect.stringMatching(/^Resolved at /), 'Note from opsgenie by System:']);
    expect(comments[0]).toContain('Flushed stale keys, watching.');
    expect(comments[2]).toContain('Root cause: a cron job filling the cache.');
  });

  it.each([
    ['github', 'issues.opened', 'issue_comment.created', 'Note from github by lee-sre:\n\nPayment provider EU endpoint is slow; failing over to the secondary.\n\nhttps://github.com/acme/widgets/issues/42#issuecomment-2716604410'],
    ['sentry', 'issue.created', 'comment.created', 'Note from sentry by Ana Diaz:\n\nFix deployed in 2026.03.2; watching the error rate.'],
  ] as const)('%s: a new comment on the issue (%s, then %s) becomes a note on its case', async (source, opened, commented, text) => {
    const { dd, bridge } = await start();
    expect((await send(bridge, source, fixture(`${source}/${opened}.json`), headersOf(`${source}/${opened}.headers.json`))).status).toBe(201);
    const noted = await send(bridge, source, fixture(`${source}/${commented}.json`), headersOf(`${source}/${commented}.headers.json`));
    expect(noted.answer).toMatchObject({ status: 'updated', reason: 'note_commented' });
    expect(dd.cases).toHaveLength(1);
    expect(dd.cases[0]?.comments).toHaveLength(1);
    expect(dd.cases[0]?.comments[0]?.replace(MARKER_LINE, '')).toBe(text);
  });

  it('a note on an alert with no case is answered deduplicated no_case and sends nothing', async () => {
    const { dd, bridge } = await start();
    const answer = await send(bridge, 'pagerduty', ...pagerduty('annotated'));
    expect(answer.status).toBe(202);
    expect(answer.answer).toMatchObject({ status: 'deduplicated', reason: 'no_case' });
    expect(dd.requests).toEqual([]);
  });

  it('on_note: ignore leaves notes to on_informational: no comment by default', async () => {
    const { dd, bridge } = await start({ on_note: 'ignore' });
    await send(bridge, 'pagerduty', ...pagerduty('triggered'));
    expect((await send(bridge, 'pagerduty', ...pagerduty('annotated'))).answer).toMatchObject({ status: 'deduplicated', reason: 'informational' });
    await send(bridge, 'opsgenie', fixture('opsgenie/Create.json'));
    expect((await send(bridge, 'opsgenie', fixture('opsgenie/AddNote.json'))).answer).toMatchObject({ status: 'deduplicated', reason: 'informational' });
    expect(dd.cases).toHaveLength(2);
    expect(dd.cases.flatMap((c) => c.comments)).toEqual([]);
  });

  const AM_FIRING = fixture('alertmanager/firing.two-alerts.json');
  const AM_RESOLVED = fixture('alertmanager/resolved.json');

  it('a firing after the reopen window makes a new case linked as the successor of the closed one; a reopen within the window links nothing', async () => {
    const { dd, bridge } = await start();
    expect((await send(bridge, 'alertmanager', AM_FIRING)).status).toBe(201);
    await send(bridge, 'alertmanager', AM_RESOLVED);
    expect((await send(bridge, 'alertmanager', AM_FIRING)).answer).toMatchObject({ status: 'updated', reason: 'reopened' });
    expect(dd.links).toEqual([]);
    await send(bridge, 'alertmanager', AM_RESOLVED);

    const later = await send(bridge, 'alertmanager', AM_FIRING, {}, DAY + 60_000);
    expect(later.status).toBe(201);
    const [first, second] = dd.cases;
    expect(dd.cases).toHaveLength(2);
    expect(dd.links).toEqual([{ id: expect.any(String), parentCaseId: second?.id, childCaseId: first?.id, relationship: 'SUCCESSOR_OF' }]);
    // The request as sent, in the bridge's own schema of CreateCaseLink (the conformance suite checks it against Datadog's document).
    const sent = dd.requests.filter((r) => r.method === 'POST' && r.path === '/api/v2/cases/link');
    expect(sent).toHaveLength(1);
    expect(caseSchemas().CaseLinkCreateRequest.parse(JSON.parse(sent[0]?.body ?? '{}'))).toEqual({
      data: { type: 'link', attributes: { parent_entity_id: second?.id, parent_entity_type: 'CASE', child_entity_id: first?.id, child_entity_type: 'CASE', relationship: 'SUCCESSOR_OF' } },
    });
  });

  it.each([
    ['refused (400): given up, logged, never dead-lettered', 400, 'case link given up'],
    ['answered 409 (the link exists): done', 409, 'case link already there'],
  ])('a link %s: the new case is created all the same', async (_name, status, logged) => {
    const { dd, bridge } = await start();
    await send(bridge, 'alertmanager', AM_FIRING);
    await send(bridge, 'alertmanager', AM_RESOLVED);
    dd.failNextLinks(1, { status });

    const later = await send(bridge, 'alertmanager', AM_FIRING, {}, DAY + 60_000);
    expect(later.status).toBe(201);
    expect(dd.cases).toHaveLength(2);
    expect(dd.links).toEqual([]);
    expect(dd.requests.filter((r) => r.path === '/api/v2/cases/link')).toHaveLength(1);
    expect(bridge.logs.some((l) => l.includes(logged))).toBe(true);
    expect(bridge.logs.some((l) => l.includes('dead-lettered'))).toBe(false);
  });

  it('the stand-in answers a link to a case it does not hold 404, and lists a case\'s links', async () => {
    const { dd } = await start();
    const headers = { 'content-type': 'application/json', 'dd-api-key': DD_KEYS.DD_API_KEY, 'dd-application-key': DD_KEYS.DD_APP_KEY };
    const body = { data: { type: 'link', attributes: { parent_entity_id: 'nope', parent_entity_type: 'CASE', child_entity_id: 'nope-2', child_entity_type: 'CASE', relationship: 'SUCCESSOR_OF' } } };
    expect((await fetch(`${dd.url}/api/v2/cases/link`, { method: 'POST', headers, body: JSON.stringify(body) })).status).toBe(404);
    expect((await fetch(`${dd.url}/api/v2/cases/link`, { method: 'POST', headers, body: JSON.stringify({ data: { type: 'link', attributes: { relationship: 'SUCCESSOR_OF' } } }) })).status).toBe(400);
    const listed = await fetch(`${dd.url}/api/v2/cases/link?entity_type=CASE&entity_id=nope`, { headers });
    expect(listed.status).toBe(200);
    expect(await listed.json()).toEqual({ data: [] });
  });
});
