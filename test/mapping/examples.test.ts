import { describe, expect, it } from 'vitest';
import { caseSchemas } from '../../lambda/datadog/schema.js';
import { loadRulesFile } from '../../lambda/mapping/load-rules-file.js';
import { mapEventToCase } from '../../lambda/mapping/map-event.js';

describe('config/examples/custom-attributes.yaml', () => {
  const rules = loadRulesFile('config/examples/custom-attributes.yaml');
  const generic = rules.sources.get('generic')!;
  const body = {
    type: 'check.down',
    id: 'chk-login',
    status: 'firing',
    severity: 'critical',
    check: { name: 'login page' },
    error: 'HTTP 503 after 3 retries',
    runbook_url: 'https://runbooks.acme.example/login',
    service: 'auth',
    team: 'identity',
    regions: ['eu-west-1', 'us-east-1'],
    metrics: { error_rate: 0.42, response_ms: [812, 930] },
    links: { self: 'https://uptime.acme.example/checks/chk-login' },
  };

  it('maps a down check to a case with all four custom attribute types', async () => {
    const [event] = generic.source.parse(body, {});

    const result = await mapEventToCase(generic, event!);

    if (result.outcome !== 'case') throw new Error(result.outcome);
    expect(result.request.data.attributes).toMatchObject({
      title: 'login page is down',
      priority: 'P1',
      status_name: 'Open',
      description: 'HTTP 503 after 3 retries\n\nSource: https://uptime.acme.example/checks/chk-login',
      custom_attributes: {
        runbook: { type: 'URL', is_multi: false, value: 'https://runbooks.acme.example/login' },
        service: { type: 'TEXT', is_multi: false, value: 'auth' },
        error_rate: { type: 'NUMBER', is_multi: false, value: 0.42 },
        team: { type: 'SELECT', is_multi: false, value: 'identity' },
        regions: { type: 'SELECT', is_multi: true, value: ['eu-west-1', 'us-east-1'] },
        response_ms: { type: 'NUMBER', is_multi: true, value: [812, 930] },
      },
    });
    expect(caseSchemas().CaseCreateRequest.safeParse(result.request).success).toBe(true);
  });

  it('ignores the recovery', async () => {
    const [event] = generic.source.parse({ ...body, type: 'check.up', status: 'resolved' }, {});

    expect(await mapEventToCase(generic, event!)).toMatchObject({ outcome: 'ignored', rule: 'everything else' });
  });
});
