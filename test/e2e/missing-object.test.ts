import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listSamples, readSample } from '../../lambda/local/samples.js';
import { signRequest } from '../../lambda/local/sign.js';
import type { SourceName } from '../../lambda/sources/types.js';
import { startTestBridge, TEST_SECRETS, type TestBridge } from '../support/local-bridge.js';

// A signed, well-formed delivery whose event is about an object (an issue, an incident, alerts)
// that is not in the body is answered 400 naming the missing path, instead of becoming a case with
// empty fields. Each case is one of our fixtures with that object taken out (or emptied).

type Edit = (body: Record<string, unknown>) => void;
const at = (body: Record<string, unknown>, ...keys: string[]): Record<string, unknown> => keys.reduce((o, k) => o[k] as Record<string, unknown>, body);
const drop = (...path: string[]): Edit => (body) => void delete at(body, ...path.slice(0, -1))[path.at(-1)!];

const CASES: [SourceName, fixture: string, what: string, edit: Edit, message: string][] = [
  ['github', 'issues.opened', 'without issue', drop('issue'), 'GitHub issues.opened webhook has no issue'],
  ['github', 'issues.opened', 'with an issue without its number', drop('issue', 'number'), 'GitHub issues.opened webhook has no issue.number'],
  ['github', 'workflow_run.completed.failure', 'without workflow_run', drop('workflow_run'), 'GitHub workflow_run.completed webhook has no workflow_run'],
  ['github', 'check_run.completed.failure', 'without check_run', drop('check_run'), 'GitHub check_run.completed webhook has no check_run'],
  ['github', 'code_scanning_alert.created', 'without alert', drop('alert'), 'GitHub code_scanning_alert.created webhook has no alert'],
  ['github', 'deployment_status.failure', 'without deployment', drop('deployment'), 'GitHub deployment_status.created webhook has no deployment'],
  ['pagerduty', 'incident.triggered', 'without event.data', drop('event', 'data'), 'not a PagerDuty V3 webhook body: event.data is missing'],
  ['pagerduty', 'incident.triggered', 'with an incident without its id', drop('event', 'data', 'id'), 'PagerDuty incident.triggered webhook has no event.data.id'],
  ['pagerduty', 'incident.annotated', 'with a note without its incident', drop('event', 'data', 'incident'), 'PagerDuty incident.annotated webhook has no event.data.incident.id'],
  ['alertmanager', 'firing.two-alerts', 'without alerts', drop('alerts'), 'not an Alertmanager webhook body (version "4"): alerts is missing'],
  ['alertmanager', 'firing.two-alerts', 'with no alert in the group', (b) => void (b['alerts'] = []), 'not an Alertmanager webhook body (version "4"): alerts: no alert in the group'],
  ['grafana', 'firing.v1', 'without alerts', drop('alerts'), 'not a Grafana Alerting webhook body (version "1"): alerts is missing'],
  ['sentry', 'issue.created', 'without data.issue', drop('data', 'issue'), 'Sentry issue webhook without its id: data.issue is missing'],
  ['sentry', 'metric_alert.critical', 'without data.metric_alert', drop('data', 'metric_alert'), 'Sentry metric_alert webhook without its id: data.metric_alert is missing'],
  ['sentry', 'event_alert.triggered', 'with an event without its issue id', drop('data', 'event', 'issue_id'), 'Sentry event_alert webhook without its id: data.event.issue_id is missing'],
  ['opsgenie', 'Create', 'without alert', drop('alert'), 'not an Opsgenie webhook body: alert is missing'],
];

describe('a verified payload without the object its event is about', () => {
  let bridge: TestBridge;
  beforeAll(async () => {
    bridge = await startTestBridge();
  });
  afterAll(async () => {
    await bridge.close();
  });

  async function post(source: SourceName, fixture: string, edit?: Edit): Promise<{ status: number; body: Record<string, unknown> }> {
    const sample = readSample(source, fixture);
    const json = JSON.parse(sample.body) as Record<string, unknown>;
    edit?.(json);
    const body = JSON.stringify(json);
    const compiled = bridge.rules.sources.get(source)!;
    const secret = TEST_SECRETS[compiled.secretKey as keyof typeof TEST_SECRETS];
    const res = await fetch(`${bridge.url}/webhooks/${source}`, { method: 'POST', body, headers: signRequest({ source, settings: compiled.source.settings, secret, body, headers: sample.headers }) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it('has each fixture, which as it is is accepted (202)', async () => {
    for (const [source, fixture] of CASES) {
      expect(listSamples(source)).toContain(fixture);
      expect((await post(source, fixture)).status, `${source} ${fixture}`).toBe(202);
    }
  });

  it.each(CASES)('%s %s %s: 400 naming the path', async (source, fixture, _what, edit, message) => {
    expect(await post(source, fixture, edit)).toEqual({ status: 400, body: { error: 'malformed_payload', message } });
  });
});
