import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { caseSchemas } from '../../lambda/datadog/schema.js';
import { parseJsonObject } from '../../lambda/ingest/parse-body.js';
import { readSample, SAMPLES_DIR } from '../../lambda/local/samples.js';
import { compileRules, validateRulesFile } from '../../lambda/mapping/compile-rules.js';
import { collectExpressions, precompileExpressions, usePrecompiledExpressions } from '../../lambda/mapping/expression.js';
import { parseRulesText, PRESET_RULES_FILE } from '../../lambda/mapping/load-rules-file.js';
import { mapEventToCase } from '../../lambda/mapping/map-event.js';
import { normalizeHeaders } from '../../lambda/sources/crypto.js';
import type { SourceName } from '../../lambda/sources/index.js';

// The presets over our own fixtures: which events make a case, with which priority and title.
// Sources whose fixtures need settings (test/fixtures/<source>/settings.json) get them merged in.
const presets = parseRulesText(readFileSync(PRESET_RULES_FILE, 'utf8'), PRESET_RULES_FILE) as { sources: Record<string, { settings?: object }> };
for (const [name, block] of Object.entries(presets.sources)) {
  const settingsFile = join(SAMPLES_DIR, name, 'settings.json');
  if (existsSync(settingsFile)) block.settings = { ...block.settings, ...(JSON.parse(readFileSync(settingsFile, 'utf8')) as object) };
}
const rules = compileRules(presets);

// What the Lambda gets (lib/rules-asset.ts): the schema's output as JSON, compiled without a second
// validation, and the fast expressions parsed ahead.
const bundled = (() => {
  const json = JSON.stringify(validateRulesFile(presets));
  const { sources } = collectExpressions(() => compileRules(JSON.parse(json), { validated: true }));
  usePrecompiledExpressions(JSON.parse(JSON.stringify(precompileExpressions(sources))) as Record<string, unknown>);
  try {
    return compileRules(JSON.parse(json), { validated: true });
  } finally {
    usePrecompiledExpressions({});
  }
})();

type Expected = 'ping' | 'no case' | [priority: string | undefined, title: string];

const TABLE: [SourceName, string, Expected][] = [
  ['github', 'issues.opened', ['P4', '[GitHub] acme/widgets#42: Checkout times out for EU customers']],
  ['github', 'issues.closed', 'no case'],
  ['github', 'issues.labeled', 'no case'],
  ['github', 'ping', 'ping'],
  ['github', 'workflow_run.completed.failure', ['P3', '[GitHub] acme/widgets: workflow CI failure on main']],
  ['github', 'check_run.completed.failure', ['P3', '[GitHub] acme/widgets: check lint failure']],
  ['github', 'code_scanning_alert.created', ['P2', '[GitHub] acme/widgets: code scanning alert #17 Database query built from user-controlled sources']],
  ['github', 'code_scanning_alert.fixed', 'no case'],
  ['github', 'dependabot_alert.created', ['P2', '[GitHub] acme/widgets: high fast-xml-parser Prototype pollution in fast-xml-parser']],
  ['github', 'secret_scanning_alert.created', ['P1', '[GitHub] acme/widgets: secret scanning alert #3 (AWS Access Key ID)']],
  ['github', 'deployment_status.failure', ['P2', '[GitHub] acme/widgets: deployment to production failure']],
  ['pagerduty', 'incident.triggered', ['P2', '[PagerDuty] payments-api: Payments API 5xx above 2%']],
  ['pagerduty', 'incident.acknowledged', 'no case'],
  ['pagerduty', 'incident.annotated', 'no case'],
  ['pagerduty', 'incident.resolved', 'no case'],
  ['pagerduty', 'service.updated', 'no case'],
  ['pagerduty', 'pagey.ping', 'ping'],
  ['alertmanager', 'firing.two-alerts', ['P3', '[Alertmanager] DiskFillingUp (2 alerts)']],
  ['alertmanager', 'firing.truncated', ['P3', '[Alertmanager] DiskFillingUp (1 alert)']],
  ['alertmanager', 'mixed.some-resolved', ['P3', '[Alertmanager] DiskFillingUp (2 alerts)']],
  ['alertmanager', 'resolved', 'no case'],
  ['grafana', 'firing.v1', ['P4', '[Grafana] [FIRING:2] Checkout latency p99 checkout']],
  ['grafana', 'mimir.firing', ['P4', '[Grafana] KafkaConsumerLag']],
  ['grafana', 'resolved.v1', 'no case'],
  ['sentry', 'issue.created', ['P3', "[Sentry] CHECKOUT-2K: TypeError: Cannot read properties of undefined (reading 'total')"]],
  ['sentry', 'event_alert.triggered', ['P3', "[Sentry] Checkout errors to on-call: TypeError: Cannot read properties of undefined (reading 'total')"]],
  ['sentry', 'metric_alert.critical', ['P2', '[Sentry] Critical: Checkout error burst']],
  ['sentry', 'metric_alert.resolved', 'no case'],
  ['sentry', 'issue.resolved', 'no case'],
  ['sentry', 'issue.ignored', 'no case'],
  ['sentry', 'installation.created', 'no case'],
  ['opsgenie', 'Create', ['P2', '[Opsgenie] Redis memory above 90% on cache-3']],
  ['opsgenie', 'Acknowledge', 'no case'],
  ['opsgenie', 'AddNote', 'no case'],
  ['opsgenie', 'Close', 'no case'],
  ['standard-webhooks', 'incident.opened', ['NOT_DEFINED', '[Webhook] incident.opened inc_01J9ZQ4M7T']],
  ['standard-webhooks', 'incident.updated', ['NOT_DEFINED', '[Webhook] incident.updated inc_01J9ZQ4M7T']],
  ['standard-webhooks', 'incident.resolved', 'no case'],
  ['generic', 'check.down', [undefined, 'check.down chk-eu-login-443']],
  ['generic', 'check.up', 'no case'],
  ['generic', 'check.acknowledged', 'no case'],
];

describe('preset rules (config/rules.yaml)', () => {
  it.each(TABLE)('%s %s gives %j', async (source, fixture, expected) => {
    const compiled = rules.sources.get(source)!;
    const sample = readSample(source, fixture);
    const [event] = compiled.source.parse(parseJsonObject(Buffer.from(sample.body)), normalizeHeaders(sample.headers));

    if (expected === 'ping') {
      expect(event?.ping).toBe(true);
      return;
    }
    const result = await mapEventToCase(compiled, event!);

    if (expected === 'no case') {
      expect(result.outcome).not.toBe('case');
      return;
    }
    if (result.outcome !== 'case') throw new Error(`expected a case, got ${result.outcome}: ${'reason' in result ? result.reason : ''}`);
    expect(result.request.data.attributes.priority).toBe(expected[0]);
    expect(result.request.data.attributes.title).toBe(expected[1]);
    expect(result.warnings).toEqual([]);
    expect(caseSchemas().CaseCreateRequest.safeParse(result.request).success).toBe(true);
    if (event!.link) expect(result.request.data.attributes.description).toContain(event!.link);
  });

  it.each(TABLE)('%s %s maps the same from the bundled form of the rules', async (source, fixture) => {
    const sample = readSample(source, fixture);
    const parseWith = (r: typeof rules) => r.sources.get(source)!.source.parse(parseJsonObject(Buffer.from(sample.body)), normalizeHeaders(sample.headers));
    const [event] = parseWith(rules);
    const [again] = parseWith(bundled);
    expect(again).toEqual(event);
    if (event === undefined || event.ping) return;
    expect(await mapEventToCase(bundled.sources.get(source)!, again!)).toEqual(await mapEventToCase(rules.sources.get(source)!, event));
  });
});
