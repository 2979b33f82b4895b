import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_SECRETS_FILE, startLocalBridge, type LocalBridge } from '../../lambda/local/bridge.js';
import { formatLocalCases, LOCAL_DATADOG_KEYS, LocalCasesListingSchema } from '../../lambda/local/case-management.js';
import { sendSample } from '../../lambda/local/send-sample.js';
import { PRESET_RULES_FILE } from '../../lambda/mapping/load-rules-file.js';
import { parseEnv } from '../../lambda/shared/env.js';
import { silentLogger } from '../../lambda/shared/log.js';
import { createSecretsProvider, fileSecretLoader, type SecretsProvider } from '../../lambda/shared/secrets.js';

// The README's first screen on a fresh clone: `npm start` with the development secrets (no Datadog keys)
// and the presets sends to the local Case Management; `npm run send -- alertmanager firing` (again),
// `... resolved`, `... firing` walk one alert through create, repeat, close and reopen.

interface Answer {
  status: string;
  reason?: string;
  caseKey?: string;
  case?: { id: string; key: string };
}

const PACKAGE_VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

describe('npm start without Datadog keys: the local Case Management', () => {
  let bridge: LocalBridge;
  let clock = Date.parse('2026-03-01T10:00:00Z');
  let secretReads = 0;

  beforeAll(async () => {
    const file = createSecretsProvider({ load: fileSecretLoader(DEV_SECRETS_FILE), origin: DEV_SECRETS_FILE });
    const counting: SecretsProvider = {
      get: () => {
        secretReads += 1;
        return file.get();
      },
      refresh: () => file.refresh(),
    };
    bridge = await startLocalBridge({ env: parseEnv({ PORT: '0' }), logger: silentLogger, embeddedDatadog: true, secrets: counting, now: () => clock });
  });
  afterAll(async () => {
    await bridge?.close();
  });

  const send = async (event: string): Promise<{ status: number; answer: Answer }> => {
    const result = await sendSample({ source: 'alertmanager', event, baseUrl: bridge.url, rulesFile: PRESET_RULES_FILE, secretsFile: DEV_SECRETS_FILE });
    return { status: result.status, answer: JSON.parse(result.text) as Answer };
  };
  const theCase = () => {
    const cases = bridge.caseManagement?.cases ?? [];
    expect(cases).toHaveLength(1);
    const [only] = cases;
    return { key: only?.key, status: only?.response.data.attributes['status'], closedAt: only?.response.data.attributes['closed_at'], comments: only?.comments, statusChanges: only?.statusChanges };
  };

  it('sends to the stand-in on 127.0.0.1, with its own keys', () => {
    expect(bridge.datadogTarget).toEqual({ kind: 'local', url: bridge.caseManagement?.url, file: undefined });
    expect(bridge.caseManagement?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('creates, deduplicates, comments, closes and reopens one case for one alert', async () => {
    const created = await send('firing');
    expect({ status: created.status, answer: created.answer.status, key: created.answer.case?.key }).toEqual({ status: 201, answer: 'created', key: 'DDFC-1' });
    expect(theCase()).toEqual({ key: 'DDFC-1', status: 'OPEN', closedAt: undefined, comments: [], statusChanges: [] });

    // Within the preset's comment interval (900 s) a repeat is coalesced: no second case, no comment.
    clock += 60_000;
    const repeat = await send('firing');
    expect({ status: repeat.status, answer: repeat.answer.status, reason: repeat.answer.reason, key: repeat.answer.caseKey }).toEqual({ status: 202, answer: 'deduplicated', reason: 'repeat_coalesced', key: 'DDFC-1' });
    expect(theCase().comments).toEqual([]);

    // After it, the repeat (and the coalesced one) is reported on the case in one comment.
    clock += 900_000;
    const later = await send('firing');
    expect({ status: later.status, answer: later.answer.status, key: later.answer.caseKey }).toEqual({ status: 202, answer: 'updated', key: 'DDFC-1' });
    expect(theCase().comments).toHaveLength(1);

    clock += 1_000;
    const resolved = await send('resolved');
    expect({ status: resolved.status, answer: resolved.answer.status, reason: resolved.answer.reason }).toEqual({ status: 202, answer: 'updated', reason: 'resolved_closed' });
    expect(theCase()).toMatchObject({ status: 'CLOSED', closedAt: expect.any(String), statusChanges: ['CLOSED'] });
    expect(theCase().comments?.at(-1)).toMatch(/^Resolved at .* by alertmanager\.\n\ncase-bridge update: cbu[0-9a-f]{20}$/);

    clock += 1_000;
    const reopened = await send('firing');
    expect({ status: reopened.status, answer: reopened.answer.status, reason: reopened.answer.reason }).toEqual({ status: 202, answer: 'updated', reason: 'reopened' });
    expect(theCase()).toMatchObject({ status: 'OPEN', closedAt: undefined, statusChanges: ['CLOSED', 'OPEN'] });
    expect(theCase().comments).toHaveLength(3);
    expect(theCase().comments?.at(-1)).toMatch(/^Fired again after being closed: reopening\.\n\ncase-bridge update: cbu[0-9a-f]{20}$/);

    // Every call the bridge made carried the stand-in's keys and was answered (none refused).
    const requests = bridge.caseManagement?.requests ?? [];
    expect(requests.length).toBeGreaterThanOrEqual(5);
    expect(requests.filter((r) => r.headers['dd-api-key'] !== LOCAL_DATADOG_KEYS.DD_API_KEY || r.headers['dd-application-key'] !== LOCAL_DATADOG_KEYS.DD_APP_KEY)).toEqual([]);
    expect(requests.filter((r) => r.status === undefined || r.status >= 300)).toEqual([]);
  });

  it('lists the stand-in\'s cases at GET /local/cases', async () => {
    const res = await fetch(`${bridge.url}/local/cases`);
    const body = (await res.json()) as { datadog: string; cases: { key: string; status: string; title: string; comments: string[]; statusChanges: string[] }[] };

    expect(res.status).toBe(200);
    expect(body.datadog).toBe(bridge.caseManagement?.url);
    expect(body.cases.map((c) => ({ key: c.key, status: c.status, comments: c.comments.length, statusChanges: c.statusChanges }))).toEqual([{ key: 'DDFC-1', status: 'OPEN', comments: 3, statusChanges: ['CLOSED', 'OPEN'] }]);
    expect(body.cases[0]?.title).toBe('[Alertmanager] DiskFillingUp (1 alert)');
  });

  it('npm run cases prints them, one line each', { timeout: 60_000 }, async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/cases.ts', '--url', bridge.url]);

    expect(stdout.split('\n')).toEqual([`1 case in the local Case Management ${bridge.caseManagement?.url}`, 'DDFC-1  Open  3 comments  [Alertmanager] DiskFillingUp (1 alert)', '']);
  });

  it('a firing a day after the close makes DDFC-2, linked to DDFC-1 and listed after it (#17)', async () => {
    clock += 1_000;
    await send('resolved');
    clock += 86_400_000 + 60_000;
    const next = await send('firing');
    expect({ status: next.status, key: next.answer.case?.key }).toEqual({ status: 201, key: 'DDFC-2' });

    const listing = LocalCasesListingSchema.parse(await (await fetch(`${bridge.url}/local/cases`)).json());
    expect(listing.cases.map((c) => [c.key, c.successorOf])).toEqual([['DDFC-1', undefined], ['DDFC-2', 'DDFC-1']]);
    expect(formatLocalCases(listing).split('\n')[2]).toBe('DDFC-2  Open    0 comments  [Alertmanager] DiskFillingUp (1 alert)  (after DDFC-1)');
  });

  it('answers GET /health with the version and the configured sources, reading no secret and calling no Datadog', async () => {
    const reads = secretReads;
    const calls = bridge.caseManagement?.requests.length;

    const res = await fetch(`${bridge.url}/health`);

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ status: 'ok', version: PACKAGE_VERSION, sources: [...bridge.rules.sources.keys()] });
    expect([...bridge.rules.sources.keys()]).toContain('alertmanager');
    expect(secretReads).toBe(reads);
    expect(bridge.caseManagement?.requests.length).toBe(calls);
  });

  // GET / is the local console (lambda/local/console.ts); deployed, it is a 404 as these (test/e2e/lambda-bundle.test.ts).
  it.each([
    ['GET', '/admin'],
    ['GET', '/nope'],
    ['GET', '/webhooks/github'],
    ['POST', '/health'],
    ['DELETE', '/webhooks/github/extra'],
  ])('answers %s %s with 404 not_found in the documented {error, message} shape', async (method, path) => {
    const res = await fetch(`${bridge.url}${path}`, { method });
    const body = (await res.json()) as Record<string, unknown>;

    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(Object.keys(body).sort()).toEqual(['error', 'message']);
    expect(body).toEqual({ error: 'not_found', message: `no route ${method} ${path}: the bridge serves POST /webhooks/{source} and GET /health` });
  });

  it('answers a source that is not configured with 404 unknown_source, same shape', async () => {
    const res = await fetch(`${bridge.url}/webhooks/jira`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });

    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'unknown_source', message: expect.stringContaining('no source "jira" is configured') });
  });
});

describe('npm start without Datadog keys and CASE_BRIDGE_DRY_RUN=true', () => {
  let bridge: LocalBridge;
  beforeAll(async () => {
    bridge = await startLocalBridge({ env: parseEnv({ PORT: '0', CASE_BRIDGE_DRY_RUN: 'true' }), logger: silentLogger, embeddedDatadog: true });
  });
  afterAll(async () => {
    await bridge?.close();
  });

  it('keeps the old dry run: no stand-in, the answer carries the request it would send', async () => {
    const result = await sendSample({ source: 'alertmanager', event: 'firing', baseUrl: bridge.url, rulesFile: PRESET_RULES_FILE, secretsFile: DEV_SECRETS_FILE });

    expect(bridge.datadogTarget).toEqual({ kind: 'dry_run', reason: 'CASE_BRIDGE_DRY_RUN is set' });
    expect(bridge.caseManagement).toBeUndefined();
    expect(result.status).toBe(202);
    expect(JSON.parse(result.text)).toMatchObject({ status: 'dry_run', request: { data: { type: 'case' } } });
    expect((await fetch(`${bridge.url}/local/cases`)).status).toBe(404);
  });
});
