import { afterAll, beforeAll, expect, it } from 'vitest';
import { signRequest } from '../../lambda/local/sign.js';
import type { SourceName } from '../../lambda/sources/index.js';
import { startDatadogServer, type DatadogTestServer } from '../../lambda/local/datadog-server.js';
import { startTestBridge, testSecret, TEST_SECRETS, type TestBridge } from '../support/local-bridge.js';
import { createCaseRequestValidator } from './openapi.js';
import { describeShared, listFixtures } from './shared.js';

// Real vendor payloads, byte for byte, posted through real sockets: signed webhook -> the local bridge with the
// preset rules (config/rules.yaml) -> the local Datadog server, which checks every create body against Datadog's
// OpenAPI CaseCreateRequest and answers 400 otherwise. The presets' defaults.project is the nil UUID, which the
// test server accepts like any UUID.

const DD_KEYS = { DD_API_KEY: 'test-api-key', DD_APP_KEY: 'test-app-key' } as const;

/** The secret each preset source names (sources.<name>.settings.secret in config/rules.yaml). */
const SECRET_KEY: Partial<Record<SourceName, string>> = {
  github: 'GITHUB_WEBHOOK_SECRET',
  pagerduty: 'PAGERDUTY_WEBHOOK_SECRET',
  alertmanager: 'ALERTMANAGER_BEARER_TOKEN',
  sentry: 'SENTRY_CLIENT_SECRET',
  opsgenie: 'OPSGENIE_BEARER_TOKEN',
};

const CASES = [
  { source: 'github', fixture: 'issues.opened', rule: 'issue opened', identity: 'repo/186853002:issue/1', title: '[GitHub] Codertocat/Hello-World#1: Spelling error in the README file' },
  { source: 'pagerduty', fixture: 'incident.triggered', rule: 'incident', identity: 'PFQZPSY', title: '[PagerDuty] pig208: Test Incident 3' },
  {
    source: 'alertmanager',
    fixture: 'firing.two-alerts',
    rule: 'alert group firing',
    identity: 'ops-zulip/{}/{}:{}',
    title: '[Alertmanager] High CPU Temperature (2 alerts)',
  },
  { source: 'sentry', fixture: 'issue.created', rule: 'new issue', identity: 'issue/1170820242', title: '[Sentry] FRONT-END-9: ReferenceError: blooopy is not defined' },
  { source: 'opsgenie', fixture: 'Create', rule: 'alert created', identity: 'ec03dad6-62c8-4c94-b38b-d88f398e900f', title: '[Opsgenie] another alert' },
] as const satisfies readonly { source: SourceName; fixture: string; rule: string; identity: string; title: string }[];

interface Answer {
  status?: string;
  rule?: string;
  identity?: string;
  case?: { id: string; key: string };
}

describeShared('real payloads through the local bridge into the Datadog test server', () => {
  const validate = createCaseRequestValidator();
  let dd: DatadogTestServer;
  let bridge: TestBridge;

  beforeAll(async () => {
    dd = await startDatadogServer({ validate });
    bridge = await startTestBridge({ secrets: { ...TEST_SECRETS, ...DD_KEYS }, env: { DD_API_URL: dd.url, DD_TIMEOUT_MS: '5000' } });
  });
  afterAll(async () => {
    await bridge?.close();
    await dd?.close();
  });

  it.each(CASES)('$source/$fixture -> 201 and one stored case that passes the OpenAPI schema', async ({ source, fixture: name, rule, identity, title }) => {
    const fixture = listFixtures(source).find((f) => f.name === name);
    if (fixture === undefined) throw new Error(`../shared/fixtures/${source}/${name}.json is missing`);
    const secretKey = SECRET_KEY[source];
    if (secretKey === undefined) throw new Error(`no test secret for ${source}`);
    const settings = bridge.rules.sources.get(source)?.source.settings;
    expect(settings?.secret).toBe(secretKey);
    const body = Buffer.from(fixture.bodyText, 'utf8');
    const headers = signRequest({ source, ...(settings ? { settings } : {}), secret: testSecret(source), body, headers: fixture.headers });
    const before = dd.cases.length;

    const res = await fetch(`${bridge.url}/webhooks/${source}`, { method: 'POST', headers, body });
    const answer = (await res.json()) as Answer;

    expect({ status: res.status, answer: answer.status, rule: answer.rule, identity: answer.identity }).toEqual({ status: 201, answer: 'created', rule, identity });
    expect(dd.cases).toHaveLength(before + 1);
    const stored = dd.cases.at(-1);
    expect(answer.case).toEqual({ id: stored?.id, key: stored?.key });
    expect(stored?.request.data.attributes.title).toBe(title);
    expect(validate(stored?.request)).toEqual([]);
    const sent = dd.requests.filter((r) => r.method === 'POST' && r.path === '/api/v2/cases').at(-1);
    expect(sent?.status).toBe(201);
    expect(validate(JSON.parse(sent?.body ?? 'null'))).toEqual([]);
  });

  it('a real payload signed with another secret is refused with 401 and never reaches Datadog', async () => {
    const fixture = listFixtures('github').find((f) => f.name === 'issues.opened');
    const body = Buffer.from(fixture?.bodyText ?? '', 'utf8');
    const headers = signRequest({ source: 'github', secret: 'not-the-secret', body, headers: fixture?.headers ?? {} });
    const before = dd.requests.length;

    const res = await fetch(`${bridge.url}/webhooks/github`, { method: 'POST', headers, body });

    expect(res.status).toBe(401);
    expect(dd.requests).toHaveLength(before);
  });
});
