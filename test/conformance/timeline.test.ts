import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDatadogClient } from '../../lambda/datadog/client.js';
import { caseSchemas, type CaseCreateRequest } from '../../lambda/datadog/schema.js';
import { startDatadogServer, type DatadogTestServer } from '../../lambda/local/datadog-server.js';
import { createOpenApiValidator } from './openapi.js';
import { describeShared, loadOpenApi } from './shared.js';

// ListCaseTimeline is `x-reconstructed` in the spec (never recorded live): these checks hold the client and the test
// server to what the spec says, so a change of the spec shows up here.

const KEYS = { apiKey: 'test-api-key', appKey: 'test-app-key' };
const REQUEST: CaseCreateRequest = {
  data: {
    type: 'case',
    attributes: { title: 'DiskFull on db-1', type_id: '00000000-0000-0000-0000-000000000001' },
    relationships: { project: { data: { id: 'd4bbe1af-f36e-42f1-87c1-493ca35c320e', type: 'project' } } },
  },
};

interface Operation {
  readonly operationId?: string;
  readonly parameters?: readonly { readonly name?: string; readonly in?: string; readonly $ref?: string }[];
  readonly responses?: Record<string, unknown>;
}

describeShared('ListCaseTimeline against the OpenAPI file', () => {
  let server: DatadogTestServer;
  beforeAll(async () => {
    server = await startDatadogServer();
  });
  afterAll(async () => {
    await server.close();
  });

  const operation = (): Operation => (loadOpenApi().paths['/api/v2/cases/{case_id}/timelines']?.get ?? {}) as Operation;

  it('the path the client reads is the GET ListCaseTimeline of the spec, with the query parameters it sends', () => {
    const op = operation();

    expect(op.operationId).toBe('ListCaseTimeline');
    expect((op as Record<string, unknown>)['x-reconstructed']).toBe(true);
    expect(op.parameters?.filter((p) => p.in === 'query').map((p) => p.name)).toEqual(['page[size]', 'page[number]', 'sort[ascending]']);
    expect(JSON.stringify(op.responses?.['200'])).toContain('"#/components/schemas/TimelineResponse"');
  });

  it('the client sends only parameters the spec declares, and the test server answers a body valid under TimelineResponse that our schema reads', async () => {
    const client = createDatadogClient({ baseUrl: server.url, timeoutMs: 2000 });
    const created = await client.createCase(REQUEST, KEYS);
    await client.addComment(created.id, 'Fired again 2 times', KEYS);
    const before = server.requests.length;

    const read = await client.listComments(created.id, { pages: 1 }, KEYS);

    expect(read).toMatchObject({ checked: true, comments: [{ message: 'Fired again 2 times' }] });
    const sent = server.requests.slice(before);
    expect(sent).toHaveLength(1);
    const url = new URL(sent[0]?.path ?? '', 'http://x');
    expect(url.pathname).toMatch(/^\/api\/v2\/cases\/[^/]+\/timelines$/);
    const declared = operation().parameters?.filter((p) => p.in === 'query').map((p) => p.name) ?? [];
    expect([...url.searchParams.keys()].filter((k) => !declared.includes(k))).toEqual([]);

    const answer: unknown = await (await fetch(`${server.url}${sent[0]?.path ?? ''}`, { headers: { 'DD-API-KEY': KEYS.apiKey, 'DD-APPLICATION-KEY': KEYS.appKey } })).json();
    expect(createOpenApiValidator('TimelineResponse')(answer)).toEqual([]);
    expect(caseSchemas().TimelineResponse.safeParse(answer).success).toBe(true);
  });

  it('our TimelineResponse schema reads a cell built from the spec example and rejects one without an id', () => {
    const validate = createOpenApiValidator('TimelineResponse');
    const cell = { id: 'aeadc05e-98a8-11ec-ac2c-da7ad0900001', type: 'timeline_cell', attributes: { type: 'COMMENT', cell_content: { message: 'hello' }, author: { type: 'USER', content: { handle: 'a@b.c' } } } };
    const { id: _, ...withoutId } = cell;

    expect(validate({ data: [cell] })).toEqual([]);
    expect(caseSchemas().TimelineResponse.safeParse({ data: [cell] }).success).toBe(true);
    expect(validate({ data: [withoutId] })).toEqual(["/data/0 must have required property 'id'"]);
    expect(caseSchemas().TimelineResponse.safeParse({ data: [withoutId] }).success).toBe(false);
  });
});
