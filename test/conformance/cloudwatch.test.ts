import { expect, it } from 'vitest';
import { parseJsonObjectText } from '../../lambda/ingest/parse-body.js';
import { loadRulesFile } from '../../lambda/mapping/load-rules-file.js';
import { mapEventToCase } from '../../lambda/mapping/map-event.js';
import { normalizeHeaders } from '../../lambda/sources/crypto.js';
import type { JsonObject } from '../../lambda/sources/types.js';
import { snsIngest } from '../support/sns.js';
import { createCaseRequestValidator } from './openapi.js';
import { describeShared, listFixtures } from './shared.js';

// The real SNS shapes of ../shared/fixtures/aws-cloudwatch-sns (an HTTP(S) notification and the Lambda
// SNS event it was derived from), read in place: the cloudwatch source parses them into the alarm and the
// presets make an OpenAPI-valid case; as received (placeholder signature and certificate URL) the
// handler refuses them 401 without fetching anything.

// Read off the payload by hand: account, the Region as the message names it (its ARN holds no real
// code), and the AlarmArn.
const IDENTITY = '123456789012/EXAMPLE/arn:aws:cloudwatch:REGION:ACCOUNT_NUMBER:alarm:EXAMPLE';

describeShared('CloudWatch alarms by SNS (../shared/fixtures/aws-cloudwatch-sns)', () => {
  const fixtures = new Map(listFixtures('aws-cloudwatch-sns').map((f) => [f.name, f]));
  const rules = loadRulesFile();
  const compiled = rules.sources.get('cloudwatch')!;
  const validate = createCaseRequestValidator();
  const http = fixtures.get('alarm.http-notification')!;

  it('has the two shapes this test reads', () => {
    expect([...fixtures.keys()].sort()).toEqual(['alarm.http-notification', 'alarm.lambda-sns-event']);
  });

  it('the HTTP notification parses into the ALARM of its Message, and the presets make a valid case', async () => {
    const events = compiled.source.parse(parseJsonObjectText(http.bodyText), normalizeHeaders(http.headers));
    expect(events.map((e) => ({ type: e.type, identity: e.identity, signal: e.signal, deliveryId: e.deliveryId }))).toEqual([
      { type: 'ALARM', identity: IDENTITY, signal: 'firing', deliveryId: '95df01b4-ee98-5cb9-9903-4c221d41eb5e' },
    ]);
    const result = await mapEventToCase(compiled, events[0]!);
    expect(result.outcome).toBe('case');
    if (result.outcome !== 'case') return;
    expect(validate(result.request)).toEqual([]);
    const { title, description } = result.request.data.attributes;
    expect(title).toBe('[CloudWatch] EXAMPLE (123456789012, EXAMPLE)');
    expect(description).toContain('Metric: AWS/EC2 NetworkOut (InstanceId=TestInstance)');
    expect(description).toContain('Threshold: GreaterThanThreshold 0');
    expect(description).toContain('was greater than the threshold (0.0)');
  });

  it('the Lambda SNS event carries the same message: the same alarm once its URL fields are spelt as HTTP spells them', () => {
    const lambda = JSON.parse(fixtures.get('alarm.lambda-sns-event')!.bodyText) as { Records: { Sns: Record<string, unknown> }[] };
    const { SigningCertUrl, UnsubscribeUrl, MessageAttributes: _attributes, ...rest } = lambda.Records[0]!.Sns;
    const asHttp = { ...rest, SigningCertURL: SigningCertUrl, UnsubscribeURL: UnsubscribeUrl } as JsonObject;
    const [fromLambda] = compiled.source.parse(asHttp, {});
    const [fromHttp] = compiled.source.parse(parseJsonObjectText(http.bodyText), {});
    expect(fromLambda?.payload['alarm']).toEqual(fromHttp?.payload['alarm']);
  });

  it('as received (placeholder signature and certificate URL) it is refused 401, and nothing is fetched', async () => {
    const fetched: string[] = [];
    const { post } = snsIngest(rules, async (url) => {
      fetched.push(url.href);
      return { ok: false, status: 599, text: async () => '' };
    });
    const answer = await post(JSON.parse(http.bodyText) as Record<string, unknown>, normalizeHeaders(http.headers));
    expect(answer.status).toBe(401);
    expect(fetched).toEqual([]);
  });
});
