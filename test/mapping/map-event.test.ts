import { describe, expect, it } from 'vitest';
import { caseSchemas } from '../../lambda/datadog/schema.js';
import { compileRules } from '../../lambda/mapping/compile-rules.js';
import { mapEventToCase, MAX_TITLE_LENGTH, RuleEvaluationError } from '../../lambda/mapping/map-event.js';
import type { JsonObject } from '../../lambda/sources/types.js';
import type { SourceEvent } from '../../lambda/sources/index.js';

const PROJECT = '11111111-1111-1111-1111-111111111111';
const TYPE = '00000000-0000-0000-0000-000000000001';
const USER = '22222222-2222-2222-2222-222222222222';

function sourceWith(rules: unknown[], defaults: Record<string, unknown> = {}) {
  const compiled = compileRules({ version: 1, defaults: { project: PROJECT, type_id: TYPE, ...defaults }, sources: { generic: { rules } } });
  return compiled.sources.get('generic')!;
}

function event(payload: JsonObject, overrides: Partial<SourceEvent> = {}): SourceEvent {
  return { source: 'generic', type: 'alert.fired', deliveryId: 'd-1', identity: 'svc/checkout', signal: 'firing', ping: false, link: 'https://alerts.example.test/1', payload, ...overrides };
}

describe('mapEventToCase', () => {
  it('fills every field of the case request, custom attributes of all four types included', async () => {
    const source = sourceWith([
      {
        name: 'all fields',
        case: {
          title: '{{ service }}: {{ summary }}',
          description: 'Value {{ value }}',
          priority: '{{ severity = "critical" ? "P1" : "P3" }}',
          status_name: 'Open',
          assignee: USER,
          custom_attributes: {
            runbook: { type: 'URL', value: '{{ runbook }}' },
            summary: { type: 'TEXT', value: '{{ summary }}' },
            value: { type: 'NUMBER', value: '{{ value }}' },
            team: { type: 'SELECT', value: '{{ team }}' },
            links: { type: 'URL', multi: true, value: '{{ links }}' },
            tags: { type: 'TEXT', multi: true, value: '{{ tags }}' },
            shards: { type: 'NUMBER', multi: true, value: '{{ shards }}' },
            teams: { type: 'SELECT', multi: true, value: ['payments', 'sre'] },
            fixed: { type: 'NUMBER', value: 42 },
          },
        },
      },
    ]);
    const payload = { service: 'checkout', summary: 'error rate 12%', value: 12.5, severity: 'critical', runbook: 'https://runbooks.test/checkout', team: 'payments', links: ['https://a.test', 'https://b.test'], tags: ['prod', 'eu'], shards: [1, 2, '3'] };

    const result = await mapEventToCase(source, event(payload));

    expect(result.outcome).toBe('case');
    if (result.outcome !== 'case') return;
    expect(result.request).toEqual({
      data: {
        type: 'case',
        attributes: {
          title: 'checkout: error rate 12%',
          type_id: TYPE,
          description: 'Value 12.5\n\nSource: https://alerts.example.test/1',
          priority: 'P1',
          status_name: 'Open',
          custom_attributes: {
            runbook: { type: 'URL', is_multi: false, value: 'https://runbooks.test/checkout' },
            summary: { type: 'TEXT', is_multi: false, value: 'error rate 12%' },
            value: { type: 'NUMBER', is_multi: false, value: 12.5 },
            team: { type: 'SELECT', is_multi: false, value: 'payments' },
            links: { type: 'URL', is_multi: true, value: ['https://a.test', 'https://b.test'] },
            tags: { type: 'TEXT', is_multi: true, value: ['prod', 'eu'] },
            shards: { type: 'NUMBER', is_multi: true, value: [1, 2, 3] },
            teams: { type: 'SELECT', is_multi: true, value: ['payments', 'sre'] },
            fixed: { type: 'NUMBER', is_multi: false, value: 42 },
          },
        },
        relationships: { project: { data: { id: PROJECT, type: 'project' } }, assignee: { data: { id: USER, type: 'user' } } },
      },
    });
    expect(caseSchemas().CaseCreateRequest.safeParse(result.request).success).toBe(true);
  });

  it('collapses each run of whitespace in the title to one space, and leaves single spaces as they are', async () => {
    const source = sourceWith([{ name: 'r', case: { title: '{{ title }}' } }]);
    const titleOf = async (title: string) => {
      const result = await mapEventToCase(source, event({ title }));
      return result.outcome === 'case' ? result.request.data.attributes.title : undefined;
    };

    expect(await titleOf('disk  full\ton\nnode-1\r\n  (eu)\u00a0now')).toBe('disk full on node-1 (eu) now');
    // Each kind of whitespace alone (no double space to give it away) is collapsed too.
    for (const space of ['\t', '\n', '\r', '\u00a0', '\u2028', '\u3000']) expect(await titleOf(`disk${space}full`)).toBe('disk full');
    expect(await titleOf('disk full on node-1')).toBe('disk full on node-1');
    expect(await titleOf('Überlast im Café 日本 🚨')).toBe('Überlast im Café 日本 🚨');
  });

  it('cuts long titles and keeps the link back to the source in the description', async () => {
    const source = sourceWith([{ name: 'long', case: { title: '{{ title }}', description: '{{ text }}' } }]);

    const result = await mapEventToCase(source, event({ title: 'x'.repeat(500), text: 'y'.repeat(30_000) }));

    if (result.outcome !== 'case') throw new Error(result.outcome);
    const { title, description } = result.request.data.attributes;
    expect(Array.from(title).length).toBe(MAX_TITLE_LENGTH);
    expect(title.endsWith('…')).toBe(true);
    expect(description!.endsWith('Source: https://alerts.example.test/1')).toBe(true);
    expect(description!.length).toBeLessThanOrEqual(20_000);
  });

  it('does not repeat the link when the description already has it', async () => {
    const source = sourceWith([{ name: 'r', case: { title: 't', description: 'see {{ $event.link }}' } }]);

    const result = await mapEventToCase(source, event({}));

    if (result.outcome !== 'case') throw new Error(result.outcome);
    expect(result.request.data.attributes.description).toBe('see https://alerts.example.test/1');
  });

  it('uses NOT_DEFINED and warns when a template gives no valid priority', async () => {
    const source = sourceWith([{ name: 'r', case: { title: 't', priority: '{{ level }}' } }]);

    const result = await mapEventToCase(source, event({ level: 'urgent' }));

    if (result.outcome !== 'case') throw new Error(result.outcome);
    expect(result.request.data.attributes.priority).toBe('NOT_DEFINED');
    expect(result.warnings).toEqual(['sources.generic.rules[0].case.priority: "urgent" is not a priority; NOT_DEFINED used']);
  });

  it('leaves out a NUMBER attribute whose value is not a number, with a warning', async () => {
    const source = sourceWith([{ name: 'r', case: { title: 't', custom_attributes: { n: { type: 'NUMBER', value: '{{ n }}' } } } }]);

    const result = await mapEventToCase(source, event({ n: 'lots' }));

    if (result.outcome !== 'case') throw new Error(result.outcome);
    expect(result.request.data.attributes.custom_attributes).toBeUndefined();
    expect(result.warnings[0]).toContain('custom_attributes.n');
  });

  it.each([
    [{ type: 'alert.fired', signal: 'firing' as const }, { outcome: 'case', rule: 'fired' }],
    [{ type: 'alert.fired', signal: 'resolved' as const }, { outcome: 'ignored', rule: 'resolved' }],
    [{ type: 'alert.acked', signal: 'informational' as const }, { outcome: 'no_match' }],
    [{ type: 'deploy.failed', signal: 'informational' as const }, { outcome: 'case', rule: 'deploys' }],
  ])('picks the first rule matching events, signals and when for %j', async (overrides, expected) => {
    const source = sourceWith([
      { name: 'resolved', signals: ['resolved'], action: 'ignore' },
      { name: 'fired', events: ['alert.fired'], when: 'severity != "info"', case: { title: 'f' } },
      { name: 'deploys', events: ['deploy.*'], case: { title: 'd' } },
    ]);

    const result = await mapEventToCase(source, event({ severity: 'high' }, overrides));

    expect(result).toMatchObject(expected);
  });

  it('names the rule path when an expression fails at run time', async () => {
    const source = sourceWith([{ name: 'r', case: { title: '{{ $number(x) }}' } }]);

    await expect(mapEventToCase(source, event({ x: 'not a number' }))).rejects.toThrow(RuleEvaluationError);
    await expect(mapEventToCase(source, event({ x: 'not a number' }))).rejects.toThrow(/sources\.generic\.rules\[0\]\.case\.title/);
  });
});
