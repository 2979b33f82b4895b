import { describe, expect, it } from 'vitest';
import { parseJsonObject } from '../../lambda/ingest/parse-body.js';
import { signRequest } from '../../lambda/local/sign.js';
import { loadRulesFile } from '../../lambda/mapping/load-rules-file.js';
import { mapEventToCase } from '../../lambda/mapping/map-event.js';
import { normalizeHeaders } from '../../lambda/sources/crypto.js';
import { SOURCES, type SourceName } from '../../lambda/sources/index.js';
import type { Signal } from '../../lambda/sources/types.js';
import { createCaseRequestValidator } from './openapi.js';
import { describeShared, listFixtures, listFixtureSources, type SharedFixture } from './shared.js';

// The real vendor payloads of ../shared/fixtures, byte for byte, through the whole path short of HTTP:
// sign -> verify -> parseJsonObject -> parse -> the preset rules (config/rules.yaml) -> a CaseCreateRequest
// checked against Datadog's OpenAPI schema.

const SUPPORTED = ['alertmanager', 'github', 'grafana', 'opsgenie', 'pagerduty', 'sentry', 'standard-webhooks'] as const satisfies readonly SourceName[];
type Supported = (typeof SUPPORTED)[number];

// Folders we do not read here:
// - aws-cloudwatch-sns: the cloudwatch source, read by ./cloudwatch.test.ts (AWS signs SNS messages in
//   the body with its own key: there is no secret of ours to sign them with here).
// - datadog: a payload *template* with $VARIABLES, not a delivery (and Datadog -> Datadog cases needs no bridge).
const SKIPPED = ['aws-cloudwatch-sns', 'datadog'];

const NOW = 1_760_000_000;

const SECRET: Record<Supported, string> = {
  alertmanager: 'conformance-alertmanager-token',
  github: 'conformance-github-secret',
  grafana: 'conformance-grafana-secret',
  opsgenie: 'conformance-opsgenie-token',
  pagerduty: 'conformance-pagerduty-secret',
  sentry: 'conformance-sentry-secret',
  'standard-webhooks': `whsec_${Buffer.from('conformance-standard-webhooks-key').toString('base64')}`,
};
const WRONG: Record<Supported, string> = {
  alertmanager: 'wrong-token',
  github: 'wrong-secret',
  grafana: 'wrong-secret',
  opsgenie: 'wrong-token',
  pagerduty: 'wrong-secret',
  sentry: 'wrong-secret',
  'standard-webhooks': `whsec_${Buffer.from('another-standard-webhooks-key').toString('base64')}`,
};

/** Sources whose credential covers the body; alertmanager and opsgenie send a static token and sign nothing. */
const BODY_SIGNED: Record<Supported, boolean> = {
  alertmanager: false,
  github: true,
  grafana: true,
  opsgenie: false,
  pagerduty: true,
  sentry: true,
  'standard-webhooks': true,
};

/** Placeholder identity: the `webhook-id` header that was sent (the payload carries no data.id). */
const WEBHOOK_ID = '<webhook-id header>';

interface Expected {
  /** Per ../shared/fixtures/README.md "Stable identity for dedup / case key", in our key format. */
  readonly identity: string;
  readonly signal: Signal;
  readonly ping: boolean;
  /** Name of the preset rule that makes a case, or null when the presets make none. */
  readonly case: string | null;
}

const firing = (identity: string, rule: string | null): Expected => ({ identity, signal: 'firing', ping: false, case: rule });
const resolved = (identity: string): Expected => ({ identity, signal: 'resolved', ping: false, case: null });
const info = (identity: string, rule: string | null = null): Expected => ({ identity, signal: 'informational', ping: false, case: rule });

// Read off each payload by hand (ids, numbers, statuses), not from what the code returns.
const GH_HELLO = 'repo/186853002'; // Codertocat/Hello-World
const GH_OCTO = 'repo/300029405'; // octo-org/octo-repo
const GH_SCANNING = 'repo/337911632'; // Codertocat/Hello-World (code scanning examples)
const GH_SECRETS = 'repo/257423561'; // Codertocat/Hello-World (secret scanning examples)
const AM_GROUP = 'ops-webhook/{}/{severity="critical"}:{alertname="High CPU Temperature"}';
const AM_ZULIP = 'ops-zulip/{}/{}:{}';
const GF_V9 = '1/Webhook test/{}/{test="true"}:{}';
const OG_DOCS_ALERT = '052652ac-5d1c-464a-812a-7dd18bbfba8c';

const EXPECTED: Record<string, Expected> = {
  // GitHub: repository.id + the object's number/id; the X-GitHub-Event + action decide the signal. Code scanning,
  // Dependabot and secret scanning number their alerts separately, so the alert kind is part of the identity.
  'github/check_run.completed.failure': firing(`${GH_HELLO}:check_run/128620228`, 'check failed'),
  'github/check_suite.completed.failure': firing(`${GH_HELLO}:check_suite/118578147`, 'check failed'),
  'github/code_scanning_alert.closed_by_user': resolved(`${GH_SCANNING}:code_scanning_alert/10`),
  'github/code_scanning_alert.created': firing(`${GH_SCANNING}:code_scanning_alert/10`, 'code scanning alert'),
  'github/code_scanning_alert.fixed': resolved(`${GH_SCANNING}:code_scanning_alert/10`),
  'github/dependabot_alert.created': firing('repo/512875663:dependabot_alert/20', 'dependabot alert'),
  'github/dependabot_alert.fixed': resolved('repo/1296269:dependabot_alert/1'),
  'github/deployment_status.failure': firing(`${GH_HELLO}:deployment/145988746`, 'deployment failed'),
  'github/deployment_status.success': resolved(`${GH_HELLO}:deployment/145988746`),
  'github/issues.closed': resolved(`${GH_HELLO}:issue/1`),
  'github/issues.labeled': info(`${GH_HELLO}:issue/1`),
  'github/issues.opened': firing(`${GH_HELLO}:issue/1`, 'issue opened'),
  'github/issues.reopened': firing(`${GH_HELLO}:issue/1`, 'issue opened'),
  'github/ping': { identity: 'repo/186853261:ping', signal: 'informational', ping: true, case: null },
  'github/secret_scanning_alert.created': firing(`${GH_SECRETS}:secret_scanning_alert/191`, 'secret leaked'),
  'github/secret_scanning_alert.reopened': firing(`${GH_SECRETS}:secret_scanning_alert/191`, 'secret leaked'),
  'github/secret_scanning_alert.resolved': resolved(`${GH_SECRETS}:secret_scanning_alert/191`),
  // Global advisories carry no repository; no preset rule opens a case for them.
  'github/security_advisory.published': firing('hook:security_advisory/GHSA-rf4j-j272-fj86', null),
  'github/security_advisory.withdrawn': resolved('hook:security_advisory/GHSA-8v27-2fg9-7h62'),
  'github/workflow_job.completed.failure': firing(`${GH_HELLO}:workflow_job/289782451`, 'job failed'),
  'github/workflow_run.completed.failure': firing(`${GH_OCTO}:workflow_run/289782451`, 'workflow failed'),
  'github/workflow_run.completed.success': resolved(`${GH_OCTO}:workflow_run/289782451`),

  // PagerDuty: event.data.id for incidents, event.data.incident.id for notes (annotated).
  'pagerduty/incident.acknowledged': info('PQ1K5C8'),
  'pagerduty/incident.annotated': info('Q3B15VLMF3ASBD'),
  'pagerduty/incident.escalated': info('Q3B15VLMF3ASBD'),
  'pagerduty/incident.priority_updated': info('PGR0VU2'),
  'pagerduty/incident.reopened': firing('Q05XJA8GDXGOB3', 'incident'),
  'pagerduty/incident.resolved': resolved('PCPZE64'),
  'pagerduty/incident.triggered': firing('PFQZPSY', 'incident'),
  'pagerduty/pagey.ping': { identity: 'pagey/01D8FYLHB5WAOASD!BWY4P3M', signal: 'informational', ping: true, case: null },
  'pagerduty/service.updated': info('service/PF9KMXH'),

  // Alertmanager (preset group_by: group): receiver + groupKey; the group status is the signal.
  'alertmanager/firing': firing(AM_GROUP, 'alert group firing'),
  // truncatedAlerts: 1 and status firing: still firing (never infer resolution from absence).
  'alertmanager/firing.truncated': firing(AM_GROUP, 'alert group firing'),
  'alertmanager/firing.two-alerts': firing(AM_ZULIP, 'alert group firing'),
  // One alert resolved, one firing: the group stays firing.
  'alertmanager/mixed.some-resolved': firing(AM_GROUP, 'alert group firing'),
  'alertmanager/resolved': resolved(AM_GROUP),
  'alertmanager/resolved.zulip-edited': resolved(AM_ZULIP),

  // Grafana: orgId + receiver + groupKey.
  'grafana/firing.docs-two-alerts': firing('1/My Super Webhook/{}:{}', 'alert group firing'),
  'grafana/firing.v11-values': firing('1/Debug webhook/{}/{debug="true"}:{alertname="Memory (copy)", grafana_folder="device"}', 'alert group firing'),
  'grafana/firing.v9': firing(GF_V9, 'alert group firing'),
  'grafana/resolved.v9': resolved(GF_V9),

  // Sentry: data.issue.id; event_alert -> data.event.issue_id (same issue identity); metric_alert -> data.metric_alert.id.
  'sentry/event_alert.triggered': firing('issue/1117540176', 'issue alert'),
  'sentry/issue.created': firing('issue/1170820242', 'new issue'),
  'sentry/issue.resolved': resolved('issue/1638821441'),
  'sentry/metric_alert.critical': firing('metric_alert/4', 'metric alert'),
  'sentry/metric_alert.resolved': resolved('metric_alert/4'),

  // Opsgenie: alert.alertId; Close resolves, Acknowledge is an update.
  'opsgenie/Acknowledge': info(OG_DOCS_ALERT),
  'opsgenie/Close': resolved(OG_DOCS_ALERT),
  'opsgenie/Create': firing('ec03dad6-62c8-4c94-b38b-d88f398e900f', 'alert created'),
  'opsgenie/Create.docs': firing(OG_DOCS_ALERT, 'alert created'),

  // Standard Webhooks: type's resource + data.id, else webhook-id. The presets configure no firing/resolved
  // types, so every event is informational, and the preset "any event" rule makes a case of each.
  'standard-webhooks/contact.created.full': info('contact/1f81eb52-5198-4599-803e-771906343485', 'any event'),
  'standard-webhooks/contact.created.thin': info('contact/1f81eb52-5198-4599-803e-771906343485', 'any event'),
  'standard-webhooks/example.event': info(WEBHOOK_ID, 'any event'),
};

/** Changes one letter or digit in the middle of the body (same length, still one byte). */
function tamper(body: Buffer): Buffer {
  const copy = Buffer.from(body);
  for (let i = Math.floor(copy.length / 2); i < copy.length; i++) {
    const c = copy[i];
    if (c !== undefined && /[A-Za-z0-9]/.test(String.fromCharCode(c))) {
      copy[i] = c === 0x61 ? 0x62 : 0x61;
      return copy;
    }
  }
  throw new Error('nothing to tamper with');
}

interface Row {
  readonly key: string;
  readonly source: Supported;
  readonly fixture: SharedFixture;
}

describeShared('real vendor payloads (../shared/fixtures) through verify, parse and the preset rules', () => {
  const rules = loadRulesFile();
  const validate = createCaseRequestValidator();
  const rows: Row[] = SUPPORTED.flatMap((source) => listFixtures(source).map((fixture) => ({ key: `${source}/${fixture.name}`, source, fixture })));

  function compiledOf(source: Supported) {
    const compiled = rules.sources.get(source);
    if (compiled === undefined) throw new Error(`config/rules.yaml has no preset for ${source}`);
    return compiled;
  }

  /** Signs the exact fixture bytes with the preset settings; returns body and lower-cased headers. */
  function signed(row: Row, secret: string = SECRET[row.source]) {
    const raw = Buffer.from(row.fixture.bodyText, 'utf8');
    const headers = signRequest({ source: row.source, settings: compiledOf(row.source).source.settings, secret, body: raw, headers: row.fixture.headers, now: NOW });
    return { raw, headers: normalizeHeaders(headers) };
  }

  function parse(row: Row) {
    const { raw, headers } = signed(row);
    return { headers, events: compiledOf(row.source).source.parse(parseJsonObject(raw), headers) };
  }

  it('reads every fixture folder, or says here why not', () => {
    expect(listFixtureSources()).toEqual([...SUPPORTED, ...SKIPPED].sort());
  });

  it('the expected table names every supported fixture, and nothing else', () => {
    expect(rows.map((r) => r.key).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it('the presets make cases of a known set of payloads', () => {
    const withCase = Object.entries(EXPECTED).filter(([, e]) => e.case !== null).length;

    expect(withCase).toBe(28);
  });

  it.each(rows)('$key: signed raw bytes are accepted, a wrong secret is not, a one-byte change is not if signed', ({ key, ...row }) => {
    const r = { key, ...row };
    const source = compiledOf(r.source).source;
    const { raw, headers } = signed(r);

    expect(source.verify(raw, headers, [SECRET[r.source]], NOW)).toBe(true);
    expect(source.verify(raw, headers, [WRONG[r.source]], NOW)).toBe(false);
    expect(source.verify(raw, headers, [WRONG[r.source], SECRET[r.source]], NOW)).toBe(true);
    // alertmanager / opsgenie authenticate with a static header only, so the body is not covered.
    expect(source.verify(tamper(raw), headers, [SECRET[r.source]], NOW)).toBe(!BODY_SIGNED[r.source]);
    // Signed with another secret than the one configured.
    const other = signed(r, WRONG[r.source]);
    expect(source.verify(other.raw, other.headers, [SECRET[r.source]], NOW)).toBe(false);
  });

  it.each(rows)('$key: parses to the identity, signal and ping of the README table', (row) => {
    const expected = EXPECTED[row.key];
    const { headers, events } = parse(row);

    expect(events).toHaveLength(1);
    const [event] = events;
    const identity = expected?.identity === WEBHOOK_ID ? headers['webhook-id'] : expected?.identity;
    expect({ source: event?.source, identity: event?.identity, signal: event?.signal, ping: event?.ping }).toEqual({
      source: row.source,
      identity,
      signal: expected?.signal,
      ping: expected?.ping,
    });
  });

  it.each(rows)('$key: the presets make a case or not as the table says, and every case passes the OpenAPI schema', async (row) => {
    const expected = EXPECTED[row.key];
    const { events } = parse(row);

    for (const event of events) {
      // The handler answers pings before any rule runs.
      const result = event.ping ? undefined : await mapEventToCase(compiledOf(row.source), event);
      if (expected?.case === null || expected === undefined) {
        expect(result?.outcome ?? 'ping').not.toBe('case');
        continue;
      }
      expect(result?.outcome).toBe('case');
      if (result?.outcome !== 'case') continue;
      expect(result.rule).toBe(expected.case);
      expect(result.warnings).toEqual([]);
      expect(validate(result.request)).toEqual([]);
      const { title, description } = result.request.data.attributes;
      expect(Array.from(title).length).toBeLessThanOrEqual(200);
      expect(title.trim()).not.toBe('');
      if (event.link !== undefined) expect(description).toContain(event.link);
    }
  });

  it('opsgenie: nanosecond integers above 2^53 parse (rounded); nothing we read depends on them', () => {
    const fixture = listFixtures('opsgenie').find((f) => f.name === 'Create');
    expect(fixture?.bodyText).toContain('"updatedAt": 1502709956288000110');

    const body = parseJsonObject(Buffer.from(fixture?.bodyText ?? '', 'utf8'));
    const updatedAt = (body['alert'] as Record<string, unknown>)['updatedAt'];

    expect(typeof updatedAt).toBe('number');
    expect(Number.isSafeInteger(updatedAt)).toBe(false);
    expect(String(updatedAt)).not.toBe('1502709956288000110');
    expect(SOURCES.opsgenie.bind({}).parse(body, {})[0]?.identity).toBe('ec03dad6-62c8-4c94-b38b-d88f398e900f');
  });

  describe('split per alert (group_by: alert): identity + fingerprint, signal from each alert', () => {
    const PER_ALERT: Record<string, { identity: string; signal: Signal }[]> = {
      'alertmanager/mixed.some-resolved': [
        { identity: `${AM_GROUP}/a1bc48475b20e73d`, signal: 'resolved' },
        { identity: `${AM_GROUP}/c2ea85182f28cbd9`, signal: 'firing' },
      ],
      // Only the alert that was sent; the truncated one is not reported, let alone resolved.
      'alertmanager/firing.truncated': [{ identity: `${AM_GROUP}/a1bc48475b20e73d`, signal: 'firing' }],
      'grafana/firing.docs-two-alerts': [
        { identity: '1/My Super Webhook/{}:{}/c6eadffa33fcdf37', signal: 'firing' },
        { identity: '1/My Super Webhook/{}:{}/bc97ff14869b13e3', signal: 'firing' },
      ],
      'grafana/resolved.v9': [{ identity: `${GF_V9}/d8a21484c9c25a60`, signal: 'resolved' }],
    };

    it.each(Object.entries(PER_ALERT))('%s', (key, expected) => {
      const row = rows.find((r) => r.key === key);
      if (row === undefined) throw new Error(`no fixture ${key}`);
      const source = SOURCES[row.source].bind({ group_by: 'alert' });

      const events = source.parse(parseJsonObject(Buffer.from(row.fixture.bodyText, 'utf8')), normalizeHeaders(row.fixture.headers));

      expect(events.map((e) => ({ identity: e.identity, signal: e.signal }))).toEqual(expected);
      expect(events.every((e) => e.alert !== undefined)).toBe(true);
    });
  });
});
