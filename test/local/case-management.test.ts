import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDatadogClient } from '../../lambda/datadog/client.js';
import type { CaseCreateRequest } from '../../lambda/datadog/schema.js';
import { LOCAL_CASES_FILE, LOCAL_DATADOG_KEYS, startLocalCaseManagement } from '../../lambda/local/case-management.js';
import { ConfigError } from '../../lambda/shared/errors.js';

const KEYS = { apiKey: LOCAL_DATADOG_KEYS.DD_API_KEY, appKey: LOCAL_DATADOG_KEYS.DD_APP_KEY };

const REQUEST: CaseCreateRequest = {
  data: {
    type: 'case',
    attributes: { title: 'Disk filling up', type_id: '00000000-0000-0000-0000-000000000001', description: 'marker cbm0123456789abcdef' },
    relationships: { project: { data: { id: '00000000-0000-0000-0000-000000000000', type: 'project' } } },
  },
};

describe('the local Case Management', () => {
  it('keeps its cases in the state directory: a restart finds them, comments and status included, and numbers on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'case-management-'));
    const first = await startLocalCaseManagement(dir);
    const client = createDatadogClient({ baseUrl: first.url });
    const created = await client.createCase(REQUEST, KEYS);
    await client.addComment(created.id, 'Resolved.', KEYS);
    await client.setStatus(created.id, 'CLOSED', KEYS);
    await first.close();

    expect(first.file).toBe(join(dir, LOCAL_CASES_FILE));
    const second = await startLocalCaseManagement(dir);
    try {
      const again = createDatadogClient({ baseUrl: second.url });
      expect(await again.getCase(created.id, KEYS)).toMatchObject({ id: created.id, key: 'DDFC-1', status: 'CLOSED' });
      expect(second.cases[0]?.comments).toEqual(['Resolved.']);
      expect((await again.findCaseByMarker('cbm0123456789abcdef', KEYS))?.id).toBe(created.id);
      expect((await again.createCase(REQUEST, KEYS)).key).toBe('DDFC-2');
    } finally {
      await second.close();
    }
  });

  it('keeps them in memory without a state directory', async () => {
    const server = await startLocalCaseManagement(undefined);
    try {
      await createDatadogClient({ baseUrl: server.url }).createCase(REQUEST, KEYS);
      expect(server.file).toBeUndefined();
      expect(server.cases).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it('refuses to start on a cases file it did not write, naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'case-management-'));
    writeFileSync(join(dir, LOCAL_CASES_FILE), '{"cases":[{"id":1}]}');

    await expect(startLocalCaseManagement(dir)).rejects.toThrow(ConfigError);
    await expect(startLocalCaseManagement(dir)).rejects.toThrow(`${join(dir, LOCAL_CASES_FILE)} does not hold the local Case Management's cases`);
    expect(readFileSync(join(dir, LOCAL_CASES_FILE), 'utf8')).toBe('{"cases":[{"id":1}]}');
  });

  it('answers writes with X-RateLimit-* headers, and other keys with 403 as Datadog does', async () => {
    const server = await startLocalCaseManagement(undefined);
    try {
      const post = (keys: { apiKey: string; appKey: string }) =>
        fetch(`${server.url}/api/v2/cases`, { method: 'POST', headers: { 'content-type': 'application/json', 'dd-api-key': keys.apiKey, 'dd-application-key': keys.appKey }, body: JSON.stringify(REQUEST) });

      const ok = await post(KEYS);
      const refused = await post({ apiKey: 'k', appKey: 'a' });

      expect(ok.status).toBe(201);
      expect(Object.fromEntries([...ok.headers].filter(([name]) => name.startsWith('x-ratelimit-')))).toEqual({
        'x-ratelimit-limit': '100',
        'x-ratelimit-period': '10',
        'x-ratelimit-remaining': '99',
        'x-ratelimit-reset': expect.stringMatching(/^\d+$/),
        'x-ratelimit-name': 'cases_write',
      });
      expect(refused.status).toBe(403);
      expect(server.cases).toHaveLength(1);
    } finally {
      await server.close();
    }
  });
});
