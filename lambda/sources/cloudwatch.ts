import * as z from '../shared/zod.js';
import { AuthenticationUnavailableError, PayloadError } from '../shared/errors.js';
import { header } from './crypto.js';
import { payloadProblems, isObject, rfc3339Ms } from './fields.js';
import { certificates, snsMessageSchema, snsSignatureProblem, snsUrl, type SnsMessage } from './sns.js';
import { ALARM_DETAIL_TYPE, isAlarmStateChangeEvent, type Authentication, type AuthenticateContext, type Headers, type Json, type JsonObject, type Signal, type SourceEventOf, type WebhookSource } from './types.js';

/**
 * CloudWatch alarms, by two transports with one identity, so that an alarm reaching the bridge both
 * ways is one case:
 * - across accounts, an SNS topic's HTTPS subscription to `/webhooks/cloudwatch`: the SNS message
 *   signature (no shared secret), its topic listed in `topics`;
 * - in the stack's account, an EventBridge rule invoking the ingest function (IAM, no HTTP).
 * Both parse into the same payload, `alarm` (see `AlarmView`), which the rules template over; the
 * original stays under `sns` (the envelope and its parsed `Message`) or `event`.
 */

export { ALARM_DETAIL_TYPE, isAlarmStateChangeEvent } from './types.js';

const TOPIC_ARN = /^arn:aws(?:-cn|-us-gov)?:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;

const settingsSchema = z.lazily(() =>
  z.strictObject({
    /**
     * SNS topic ARNs whose messages are accepted (and whose SubscriptionConfirmation the bridge
     * confirms); every other topic is answered 401. Not needed for the EventBridge rule.
     * @default []
     */
    topics: z._default(z.array(z.string().check(z.regex(TOPIC_ARN, 'must be an SNS topic ARN'))), []),
  }),
);
/** No `secret`: the SNS signature and the topic list authenticate. */
type Settings = z.infer<ReturnType<typeof settingsSchema>> & { readonly secret?: undefined };

/** The SNS "alarm" message (CloudWatch's JSON inside `Message`). */
const snsAlarmSchema = z.lazily(() =>
  z.looseObject({
    AlarmName: z.string().check(z.minLength(1)),
    AlarmArn: z.optional(z.string()),
    AWSAccountId: z.string(),
    Region: z.string(),
    NewStateValue: z.string(),
    OldStateValue: z.optional(z.string()),
    NewStateReason: z.optional(z.string()),
    StateChangeTime: z.optional(z.string()),
    AlarmDescription: z.optional(z.nullable(z.string())),
    Trigger: z.optional(z.looseObject({})),
  }),
);

/** An EventBridge `CloudWatch Alarm State Change` event. */
const eventSchema = z.lazily(() =>
  z.looseObject({
    id: z.string().check(z.minLength(1)),
    'detail-type': z.literal(ALARM_DETAIL_TYPE),
    source: z.literal('aws.cloudwatch'),
    account: z.string(),
    region: z.string(),
    resources: z.array(z.string()),
    detail: z.looseObject({
      alarmName: z.string().check(z.minLength(1)),
      state: z.looseObject({ value: z.string(), reason: z.optional(z.string()), reasonData: z.optional(z.string()), timestamp: z.optional(z.string()) }),
      previousState: z.optional(z.looseObject({ value: z.string() })),
      configuration: z.optional(z.looseObject({ description: z.optional(z.nullable(z.string())), metrics: z.optional(z.array(z.looseObject({}))) })),
    }),
  }),
);


function signalOf(state: string): Signal {
  return state === 'ALARM' ? 'firing' : state === 'OK' ? 'resolved' : 'informational';
}

/** The AWS console's page of an alarm (the China partition has its own console host). */
export function alarmConsoleUrl(region: string, name: string, arn: string): string {
  const host = arn.startsWith('arn:aws-cn:') ? `${region}.console.amazonaws.cn` : arn.startsWith('arn:aws-us-gov:') ? 'console.amazonaws-us-gov.com' : `${region}.console.aws.amazon.com`;
  return `https://${host}/cloudwatch/home?region=${encodeURIComponent(region)}#alarmsV2:alarm/${encodeURIComponent(name)}`;
}

/** What the rules see under `alarm`, the same for both transports (missing values are null). */
interface AlarmView {
  name: string;
  arn: string;
  account: string;
  region: string;
  state: string;
  previous_state: Json;
  reason: Json;
  description: Json;
  time: Json;
  metric: Json;
  namespace: Json;
  dimensions: Json;
  statistic: Json;
  period: Json;
  threshold: Json;
  comparison: Json;
  console_url: string;
}

const text = (v: unknown): Json => (typeof v === 'string' && v !== '' ? v : null);
const num = (v: unknown): Json => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function view(fields: Omit<AlarmView, 'console_url' | 'arn'> & { arn: string | undefined }): AlarmView {
  const arn = fields.arn ?? `arn:aws:cloudwatch:${fields.region}:${fields.account}:alarm:${fields.name}`;
  return { ...fields, arn, console_url: alarmConsoleUrl(fields.region, fields.name, arn) };
}

function fromSnsAlarm(message: SnsMessage): AlarmView {
  let inner: unknown;
  try {
    inner = JSON.parse(message.Message);
  } catch (error) {
    throw new PayloadError('the SNS Message is not a CloudWatch alarm (not JSON)', { cause: error });
  }
  const parsed = z.safeParse(snsAlarmSchema(), inner);
  if (!parsed.success) throw new PayloadError(`the SNS Message is not a CloudWatch alarm: ${payloadProblems(parsed.error)}`, { cause: parsed.error });
  const a = parsed.data;
  const trigger: Record<string, unknown> = a.Trigger ?? {};
  const dims = Array.isArray(trigger['Dimensions']) ? trigger['Dimensions'] : [];
  const dimensions: JsonObject = {};
  for (const d of dims) if (isObject(d) && typeof d['name'] === 'string') dimensions[d['name']] = text(d['value']);
  return view({
    name: a.AlarmName,
    arn: a.AlarmArn,
    account: a.AWSAccountId,
    region: regionCodeOf(a.Region, a.AlarmArn),
    state: a.NewStateValue,
    previous_state: text(a.OldStateValue),
    reason: text(a.NewStateReason),
    description: text(a.AlarmDescription),
    time: text(a.StateChangeTime),
    metric: text(trigger['MetricName']),
    namespace: text(trigger['Namespace']),
    dimensions,
    statistic: text(trigger['Statistic']) ?? text(trigger['ExtendedStatistic']),
    period: num(trigger['Period']),
    threshold: num(trigger['Threshold']),
    comparison: text(trigger['ComparisonOperator']),
  });
}

/**
 * The SNS alarm message names the Region by its long name ("US East (N. Virginia)"); its ARN holds
 * the code, which the console link needs.
 */
function regionCodeOf(region: string, arn: string | undefined): string {
  const fromArn = arn?.split(':')[3];
  return fromArn !== undefined && /^[a-z]{2}(?:-[a-z]+)+-\d$/.test(fromArn) ? fromArn : region;
}

function fromEvent(event: z.infer<ReturnType<typeof eventSchema>>): AlarmView {
  const { detail } = event;
  const first = detail.configuration?.metrics?.[0];
  const stat = isObject(first?.['metricStat']) ? first['metricStat'] : undefined;
  const metric = isObject(stat?.['metric']) ? stat['metric'] : undefined;
  let reasonData: Record<string, unknown> = {};
  try {
    const parsed: unknown = detail.state.reasonData === undefined ? undefined : JSON.parse(detail.state.reasonData);
    if (isObject(parsed)) reasonData = parsed;
  } catch {
    // reasonData is informative only: a threshold we cannot read is null.
  }
  return view({
    name: detail.alarmName,
    arn: event.resources.find((r) => r.includes(':alarm:')),
    account: event.account,
    region: event.region,
    state: detail.state.value,
    previous_state: text(detail.previousState?.value),
    reason: text(detail.state.reason),
    description: text(detail.configuration?.description),
    time: text(detail.state.timestamp),
    metric: text(metric?.['name']),
    namespace: text(metric?.['namespace']),
    dimensions: isObject(metric?.['dimensions']) ? metric['dimensions'] : {},
    statistic: text(stat?.['stat']) ?? text(reasonData['statistic']),
    period: num(stat?.['period']) ?? num(reasonData['period']),
    threshold: num(reasonData['threshold']),
    comparison: null,
  });
}

function eventOf(alarm: AlarmView, deliveryId: string, payload: JsonObject): SourceEventOf<'cloudwatch'> {
  return {
    source: 'cloudwatch',
    type: alarm.state,
    deliveryId,
    identity: `${alarm.account}/${alarm.region}/${alarm.arn}`,
    signal: signalOf(alarm.state),
    ping: false,
    link: alarm.console_url,
    payload: { ...payload, alarm: alarm as unknown as JsonObject },
    // CloudWatch writes the offset without a colon (`…T10:03:12.480+0000`).
    occurredAt: typeof alarm.time === 'string' ? rfc3339Ms(alarm.time.replace(/([+-]\d\d)(\d\d)$/, '$1:$2')) : undefined,
  };
}

function snsMessageOf(body: JsonObject): SnsMessage | undefined {
  const parsed = z.safeParse(snsMessageSchema(), body);
  return parsed.success ? parsed.data : undefined;
}

async function authenticate(body: JsonObject, headers: Headers, { settings, nowMs, fetch }: AuthenticateContext<Settings>): Promise<Authentication> {
  const message = snsMessageOf(body);
  if (message === undefined) return { ok: false, reason: 'not a signed Amazon SNS message' };
  const declared = header(headers, 'x-amz-sns-message-type');
  if (declared !== undefined && declared !== message.Type) return { ok: false, reason: 'x-amz-sns-message-type does not match the message' };
  // Topic first: a message of a topic not listed costs no certificate fetch.
  if (!settings.topics.includes(message.TopicArn)) return { ok: false, reason: 'topic is not listed in the cloudwatch source settings' };
  const problem = await snsSignatureProblem(message, { fetch, nowMs, cache: certificates });
  if (problem !== undefined) return { ok: false, reason: problem };
  if (message.Type === 'SubscriptionConfirmation') {
    const subscribe = snsUrl(message.SubscribeURL);
    if (subscribe === undefined) return { ok: false, reason: 'SubscribeURL is not an Amazon SNS URL' };
    // Not confirmed (SNS unreachable or answering an error): 503, so that SNS sends the confirmation again.
    const answer = await fetch(subscribe, { method: 'GET', signal: AbortSignal.timeout(5000) }).catch((error: unknown) => {
      throw new AuthenticationUnavailableError(`confirming the subscription to ${message.TopicArn} failed: SNS did not answer`, { cause: error });
    });
    if (!answer.ok) throw new AuthenticationUnavailableError(`confirming the subscription to ${message.TopicArn} failed: SNS answered ${answer.status}`);
    return { ok: true, handled: { status: 'subscription_confirmed', message: 'SNS subscription confirmed', detail: { topic: message.TopicArn } } };
  }
  if (message.Type === 'UnsubscribeConfirmation') {
    return { ok: true, handled: { status: 'unsubscribed', message: 'SNS subscription ended: no more alarms from this topic', detail: { topic: message.TopicArn } } };
  }
  return { ok: true };
}

export const cloudwatch = {
  name: 'cloudwatch',
  bodySigned: true,
  textBody: true,
  settingsSchema,

  // The SNS signature is inside the body: `authenticate` checks it. No request passes without it.
  verify: () => false,
  authenticate,

  // SNS signs the body itself (tests build signed messages with test/support/sns.ts): only the headers SNS sends.
  sign(body, { headers }) {
    const parsed: unknown = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
    if (!isObject(parsed)) return;
    if (typeof parsed['Type'] === 'string') headers.set('x-amz-sns-message-type', parsed['Type']);
    if (typeof parsed['MessageId'] === 'string') headers.set('x-amz-sns-message-id', parsed['MessageId']);
    if (typeof parsed['TopicArn'] === 'string') headers.set('x-amz-sns-topic-arn', parsed['TopicArn']);
  },

  credential: () => ({ headers: ['x-amz-sns-message-type'], mismatch: 'SNS message signature does not verify' }),

  parse(body: JsonObject) {
    if (isAlarmStateChangeEvent(body)) {
      const parsed = z.safeParse(eventSchema(), body);
      if (!parsed.success) throw new PayloadError(`not a CloudWatch alarm state change event: ${payloadProblems(parsed.error)}`, { cause: parsed.error });
      return [eventOf(fromEvent(parsed.data), parsed.data.id, { event: body })];
    }
    const message = snsMessageOf(body);
    if (message === undefined) throw new PayloadError('not an Amazon SNS message nor a CloudWatch alarm state change event');
    // Confirmations are handled by authenticate; nothing else makes a case.
    if (message.Type !== 'Notification') return [];
    const alarm = fromSnsAlarm(message);
    return [eventOf(alarm, message.MessageId, { sns: { ...body, Message: JSON.parse(message.Message) as Json } })];
  },
} satisfies WebhookSource<Settings, 'cloudwatch'>;
