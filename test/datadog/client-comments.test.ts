import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COMMENTS_PAGE_SIZE, createDatadogClient, type DatadogClient, type DatadogKeys } from '../../lambda/datadog/client.js';
import type { CaseCreateRequest } from '../../lambda/datadog/schema.js';
import { DatadogError } from '../../lambda/shared/errors.js';
import { startDatadogServer, type DatadogTestServer } from '../support/datadog-server.js';

const KEYS: DatadogKeys = { apiKey: 'test-api-key', appKey: 'test-app-key' };
const REQUEST: CaseCreateRequest = {
  data: {
    type: 'case',
    attributes: { title: 'DiskFull on db-1', type_id: '00000000-0000-0000-0000-000000000001', description: 'disk' },
    relationships: { project: { data: { id: 'd4bbe1af-f36e-42f1-87c1-493ca35c320e', type: 'project' } } },
  },
};

describe('Datadog listComments (ListCaseTimeline)', () => {
  let server: DatadogTestServer;
  let client: DatadogClient;

  beforeEach(async () => {
    server = await startDatadogServer();
    client = createDatadogClient({ baseUrl: server.url, timeoutMs: 2000 });
  });
  afterEach(async () => {
    await server.close();
  });

  it('reads the posted comments back newest first, with the cell ids the comment answers gave', async () => {
    const created = await client.createCase(REQUEST, KEYS);
    const first = await client.addComment(created.id, 'Fired again 2 times', KEYS);
    const second = await client.addComment(created.id, 'Resolved\ncase-bridge update: cbu0123', KEYS);

    const read = await client.listComments(created.id, { pages: 2 }, KEYS);

    expect(read).toMatchObject({ checked: true, comments: [{ id: second.commentId, message: 'Resolved\ncase-bridge update: cbu0123' }, { id: first.commentId, message: 'Fired again 2 times' }] });
    const sent = server.requests.at(-1);
    expect(sent?.method).toBe('GET');
    expect(sent?.path).toBe(`/api/v2/cases/${created.id}/timelines?page%5Bsize%5D=${COMMENTS_PAGE_SIZE}&page%5Bnumber%5D=0&sort%5Bascending%5D=false`);
  });

  it('reads zero-based pages up to the limit and stops at a short page', async () => {
    const created = await client.createCase(REQUEST, KEYS);
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

  it('a case without comments reads as checked and empty', async () => {
    const created = await client.createCase(REQUEST, KEYS);

    expect(await client.listComments(created.id, { pages: 2 }, KEYS)).toEqual({ checked: true, comments: [] });
  });

  it.each([400, 405])('a %i answer is "cannot check", not an error', async (status) => {
    const created = await client.createCase(REQUEST, KEYS);
    server.failNextTimelines(1, { status });

    const read = await client.listComments(created.id, { pages: 2 }, KEYS);

    expect(read).toMatchObject({ checked: false, status });
    expect(read.checked ? '' : read.reason).toContain(`answered ${status}`);
  });

  it('an unknown case (404) is "cannot check"', async () => {
    expect(await client.listComments('67d80aa3-36ff-44b9-a694-c501a7591737', { pages: 1 }, KEYS)).toMatchObject({ checked: false, status: 404 });
  });

  it('a 429 or 5xx still throws a retryable DatadogError', async () => {
    const created = await client.createCase(REQUEST, KEYS);
    server.failNextTimelines(1, { status: 503 });

    const error: unknown = await client.listComments(created.id, { pages: 1 }, KEYS).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DatadogError);
    expect(error).toMatchObject({ status: 503, retryable: true });
  });
});
