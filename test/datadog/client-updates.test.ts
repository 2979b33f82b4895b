import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COMMENTS_PAGE_SIZE, createDatadogClient, type DatadogClient, type DatadogKeys } from '../../lambda/datadog/client.js';
import type { CaseCreateRequest } from '../../lambda/datadog/schema.js';
import { dedupMarker, withMarker } from '../../lambda/ledger/marker.js';
import { DatadogError } from '../../lambda/shared/errors.js';
import { startDatadogServer, type DatadogTestServer } from '../../lambda/local/datadog-server.js';

const KEYS: DatadogKeys = { apiKey: 'test-api-key', appKey: 'test-app-key' };
const MARKER = dedupMarker('alertmanager', 'webhook/{}:{alertname="DiskFull"}');

function request(description: string): CaseCreateRequest {
  return {
    data: {
      type: 'case',
      attributes: { title: 'DiskFull on db-1', type_id: '00000000-0000-0000-0000-000000000001', description },
      relationships: { project: { data: { id: 'd4bbe1af-f36e-42f1-87c1-493ca35c320e', type: 'project' } } },
    },
  };
}

async function failure(promise: Promise<unknown>): Promise<DatadogError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DatadogError);
  return error as DatadogError;
}

describe('Datadog case updates', () => {
  let server: DatadogTestServer;
  let client: DatadogClient;

  beforeEach(async () => {
    server = await startDatadogServer();
    client = createDatadogClient({ baseUrl: server.url, timeoutMs: 2000 });
  });
  afterEach(async () => {
    await server.close();
  });

  it('addComment posts the body of the spec and stores the comment', async () => {
    const created = await client.createCase(request('disk'), KEYS);
    const result = await client.addComment(created.id, 'Fired again 3 times', KEYS);
    expect(result.commentId).toMatch(/^[0-9a-f-]{36}$/);
    const sent = server.requests.at(-1);
    expect(sent?.method).toBe('POST');
    expect(sent?.path).toBe(`/api/v2/cases/${created.id}/comment`);
    expect(JSON.parse(sent?.body ?? '')).toEqual({ data: { type: 'case', attributes: { comment: 'Fired again 3 times' } } });
    expect(sent?.headers['content-type']).toBe('application/json');
    expect(server.cases[0]?.comments).toEqual(['Fired again 3 times']);
    expect(server.cases[0]?.response.data.attributes['comment_count']).toBe(1);
  });

  it('addComment to an unknown case is a non-retryable 404; an empty comment a 400', async () => {
    const missing = await failure(client.addComment('67d80aa3-36ff-44b9-a694-c501a7591737', 'hello', KEYS));
    expect(missing).toMatchObject({ status: 404, retryable: false, ambiguous: false });
    expect(missing.errors).toEqual(['case not found']);
    const created = await client.createCase(request('disk'), KEYS);
    expect(await failure(client.addComment(created.id, '', KEYS))).toMatchObject({ status: 400, retryable: false });
  });

  it('setStatus closes with the status enum and reopens; the answer is the updated case', async () => {
    const created = await client.createCase(request('disk'), KEYS);
    const closedCase = await client.setStatus(created.id, 'CLOSED', KEYS);
    expect(JSON.parse(server.requests.at(-1)?.body ?? '')).toEqual({ data: { type: 'case', attributes: { status: 'CLOSED' } } });
    expect(closedCase).toMatchObject({ id: created.id, key: 'DDFC-1', status: 'CLOSED', statusName: 'Closed', statusGroup: 'SG_CLOSED' });
    expect(closedCase.closedAt).toBeDefined();
    const reopened = await client.setStatus(created.id, 'OPEN', KEYS);
    expect(reopened).toMatchObject({ status: 'OPEN', statusName: 'Open', closedAt: undefined });
    expect(server.cases[0]?.statusChanges).toEqual(['CLOSED', 'OPEN']);
  });

  it('setStatus with a status name sends status_name', async () => {
    const created = await client.createCase(request('disk'), KEYS);
    const c = await client.setStatus(created.id, { statusName: "Won't fix" }, KEYS);
    expect(JSON.parse(server.requests.at(-1)?.body ?? '')).toEqual({ data: { type: 'case', attributes: { status_name: "Won't fix" } } });
    expect(c).toMatchObject({ status: 'CLOSED', statusName: "Won't fix" });
  });

  it('setStatus: unknown case 404, invalid status name 400', async () => {
    expect(await failure(client.setStatus('67d80aa3-36ff-44b9-a694-c501a7591737', 'OPEN', KEYS))).toMatchObject({ status: 404, retryable: false });
    const created = await client.createCase(request('disk'), KEYS);
    const bad = await failure(client.setStatus(created.id, { statusName: 'OPENED' }, KEYS));
    expect(bad.status).toBe(400);
    expect(bad.errors[0]).toContain('invalid status OPENED');
  });

  it('getCase reads the case; a missing one is a 404', async () => {
    const created = await client.createCase(request(withMarker('disk', MARKER)), KEYS);
    const got = await client.getCase(created.id, KEYS);
    expect(got).toMatchObject({ id: created.id, key: 'DDFC-1', status: 'OPEN', statusName: 'Open' });
    expect(got.description).toContain(MARKER);
    const get = server.requests.at(-1);
    expect(get?.method).toBe('GET');
    expect(get?.body).toBe('');
    expect(get?.headers['content-type']).toBeUndefined();
    expect(await failure(client.getCase('nope', KEYS))).toMatchObject({ status: 404, retryable: false });
  });

  it('findCaseByMarker finds the case whose description carries the marker, and only that one', async () => {
    await client.createCase(request('another alert'), KEYS);
    expect(await client.findCaseByMarker(MARKER, KEYS)).toBeUndefined();
    const created = await client.createCase(request(withMarker('disk', MARKER)), KEYS);
    await client.createCase(request(withMarker('other', dedupMarker('alertmanager', 'other'))), KEYS);
    const found = await client.findCaseByMarker(MARKER, KEYS);
    expect(found).toMatchObject({ id: created.id, key: 'DDFC-2' });
    const search = server.requests.at(-1);
    expect(search?.method).toBe('GET');
    const url = new URL(search?.path ?? '', 'http://x');
    expect(url.pathname).toBe('/api/v2/cases');
    expect(url.searchParams.get('filter')).toBe(MARKER);
    expect(url.searchParams.get('page[size]')).toBe('20');
    // The next generation's marker does not find the older case.
    expect(await client.findCaseByMarker(dedupMarker('alertmanager', 'webhook/{}:{alertname="DiskFull"}', 1), KEYS)).toBeUndefined();
  });

  it('findCaseByMarker finds a case whose create response was lost', async () => {
    server.dropAfterCreateNext(1);
    const lost = await failure(client.createCase(request(withMarker('disk', MARKER)), KEYS));
    expect(lost).toMatchObject({ status: 0, retryable: true, ambiguous: true });
    expect(await client.findCaseByMarker(MARKER, KEYS)).toMatchObject({ id: server.cases[0]?.id, key: 'DDFC-1' });
  });

  it('search lag: a case too young for the index is not found yet', async () => {
    await server.close();
    let clock = Date.parse('2026-03-01T10:00:00Z');
    server = await startDatadogServer({ searchLagMs: 5000, now: () => clock });
    client = createDatadogClient({ baseUrl: server.url, timeoutMs: 2000 });
    await client.createCase(request(withMarker('disk', MARKER)), KEYS);
    expect(await client.findCaseByMarker(MARKER, KEYS)).toBeUndefined();
    clock += 5000;
    expect(await client.findCaseByMarker(MARKER, KEYS)).toBeDefined();
  });

  it('updates are classified like creates: 429 retryable with the rate limit, 5xx ambiguous, wrong keys 403', async () => {
    const created = await client.createCase(request('disk'), KEYS);
    server.failNextUpdates(1, { status: 429, headers: { 'X-RateLimit-Reset': '7', 'X-RateLimit-Name': 'cases_write' } });
    const limited = await failure(client.addComment(created.id, 'x', KEYS));
    expect(limited).toMatchObject({ status: 429, retryable: true, ambiguous: false, rateLimit: { reset: 7, name: 'cases_write' } });
    server.failNextUpdates(1, { status: 503 });
    expect(await failure(client.setStatus(created.id, 'CLOSED', KEYS))).toMatchObject({ status: 503, retryable: true, ambiguous: true });
    expect(await failure(client.getCase(created.id, { ...KEYS, appKey: 'wrong' }))).toMatchObject({ status: 403, retryable: false });
    expect(await failure(client.findCaseByMarker(MARKER, { ...KEYS, apiKey: 'wrong' }))).toMatchObject({ status: 403, retryable: false });
  });

  it('a shared rate-limit window can include updates', async () => {
    const created = await client.createCase(request('disk'), KEYS);
    server.rateLimit({ limit: 1, periodSeconds: 60, includeUpdates: true });
    await client.addComment(created.id, 'one', KEYS);
    expect(await failure(client.addComment(created.id, 'two', KEYS))).toMatchObject({ status: 429, retryable: true });
    expect(server.cases[0]?.comments).toEqual(['one']);
  });

  it('a timed-out update is retryable and ambiguous (it may have been applied)', async () => {
    const hanging: typeof fetch = (_input, init) =>
      new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason as Error)));
    const impatient = createDatadogClient({ baseUrl: server.url, timeoutMs: 100, fetch: hanging });
    const error = await failure(impatient.addComment('case-1', 'x', KEYS));
    expect(error).toMatchObject({ status: 0, retryable: true, ambiguous: true });
    expect(error.message).toContain('timed out');
  });

  it('listComments reads the posted comments back newest first, with the cell ids the comment answers gave', async () => {
    const created = await client.createCase(request('disk'), KEYS);
    const first = await client.addComment(created.id, 'Fired again 2 times', KEYS);
    const second = await client.addComment(created.id, 'Resolved\ncase-bridge update: cbu0123', KEYS);

    const read = await client.listComments(created.id, { pages: 2 }, KEYS);

    expect(read).toMatchObject({ checked: true, comments: [{ id: second.commentId, message: 'Resolved\ncase-bridge update: cbu0123' }, { id: first.commentId, message: 'Fired again 2 times' }] });
    const sent = server.requests.at(-1);
    expect(sent?.method).toBe('GET');
    expect(sent?.path).toBe(`/api/v2/cases/${created.id}/timelines?page%5Bsize%5D=${COMMENTS_PAGE_SIZE}&page%5Bnumber%5D=0&sort%5Bascending%5D=false`);
  });

  it('listComments reads zero-based pages up to the limit and stops at a short page', async () => {
    const created = await client.createCase(request('disk'), KEYS);
    for (let i = 0; i < COMMENTS_PAGE_SIZE + 5; i++) await client.addComment(created.id, `comment ${i}`, KEYS);
    const before = server.requests.length;

    const one = await client.listComments(created.id, { pages: 1 }, KEYS);
    const all = await client.listComments(created.id, { pages: 3 }, KEYS);

    expect(one.checked && one.comments.map((c) => c.message)).toEqual(Array.from({ length: COMMENTS_PAGE_SIZE }, (_, i) => `comment ${COMMENTS_PAGE_SIZE + 4 - i}`));
    expect(all.checked && all.comments.length).toBe(COMMENTS_PAGE_SIZE + 5);
    expect(all.checked && all.comments.at(-1)?.message).toBe('comment 0');
    // 1 page, then pages 0 and 1 (the second is short, so page 2 is never asked for).
    expect(server.requests.slice(before).map((r) => new URL(r.path, 'http://x').searchParams.get('page[number]'))).toEqual(['0', '0', '1']);
  });

  it('listComments: a case without comments reads as checked and empty', async () => {
    const created = await client.createCase(request('disk'), KEYS);

    expect(await client.listComments(created.id, { pages: 2 }, KEYS)).toEqual({ checked: true, comments: [] });
  });

  it.each([400, 405])('listComments: a %i answer is "cannot check", not an error', async (status) => {
    const created = await client.createCase(request('disk'), KEYS);
    server.failNextTimelines(1, { status });

    const read = await client.listComments(created.id, { pages: 2 }, KEYS);

    expect(read).toMatchObject({ checked: false, status });
    expect(read.checked ? '' : read.reason).toContain(`answered ${status}`);
  });

  it('listComments: an unknown case (404) is "cannot check"', async () => {
    expect(await client.listComments('67d80aa3-36ff-44b9-a694-c501a7591737', { pages: 1 }, KEYS)).toMatchObject({ checked: false, status: 404 });
  });

  it('listComments: a 429 or 5xx still throws a retryable DatadogError', async () => {
    const created = await client.createCase(request('disk'), KEYS);
    server.failNextTimelines(1, { status: 503 });

    const error: unknown = await client.listComments(created.id, { pages: 1 }, KEYS).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DatadogError);
    expect(error).toMatchObject({ status: 503, retryable: true });
  });

  describe('case links (#17)', () => {
    async function twoCases(): Promise<[string, string]> {
      const previous = await client.createCase(request('first'), KEYS);
      const next = await client.createCase(request('second'), KEYS);
      return [next.id, previous.id];
    }

    it('linkSuccessor makes the new case SUCCESSOR_OF the previous one, and isSuccessorLinked reads it back', async () => {
      const [next, previous] = await twoCases();
      expect(await client.isSuccessorLinked(next, previous, KEYS)).toBe(false);

      const made = await client.linkSuccessor(next, previous, KEYS);

      expect(made).toEqual({ linkId: server.links[0]?.id, existed: false });
      expect(server.links).toEqual([{ id: expect.any(String), parentCaseId: next, childCaseId: previous, relationship: 'SUCCESSOR_OF' }]);
      expect(await client.isSuccessorLinked(next, previous, KEYS)).toBe(true);
      // The other way round is not the same link.
      expect(await client.isSuccessorLinked(previous, next, KEYS)).toBe(false);
    });

    it('linkSuccessor: a 409 (the link exists) is done, not an error; a 404 and a 429 throw', async () => {
      const [next, previous] = await twoCases();
      server.failNextLinks(1, { status: 409 });
      expect(await client.linkSuccessor(next, previous, KEYS)).toEqual({ linkId: undefined, existed: true });
      expect(await failure(client.linkSuccessor(next, 'no-such-case', KEYS))).toMatchObject({ status: 404, retryable: false });
      server.failNextLinks(1, { status: 429 });
      expect(await failure(client.linkSuccessor(next, previous, KEYS))).toMatchObject({ status: 429, retryable: true });
    });

    it.each([400, 404, 405])('isSuccessorLinked: a %i answer is "cannot tell" (undefined), a 503 throws', async (status) => {
      const [next, previous] = await twoCases();
      server.failNextLinks(1, { status });
      expect(await client.isSuccessorLinked(next, previous, KEYS)).toBeUndefined();
      server.failNextLinks(1, { status: 503 });
      expect(await failure(client.isSuccessorLinked(next, previous, KEYS))).toMatchObject({ status: 503, retryable: true });
    });
  });
});
