import middy from '@middy/core';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type { DatadogClient, DatadogKeys } from '../datadog/client.js';
import type { CompiledRules, CompiledSource } from '../mapping/compile-rules.js';
import { mapEventToCase } from '../mapping/map-event.js';
import { isSourceName, type SourceEvent } from '../sources/index.js';
import { defaultFetch, type JsonObject, type OutboundFetch } from '../sources/types.js';
import { AuthenticationUnavailableError, BridgeError, ConfigError, LedgerError, PayloadError, QueueError, SecretConfigError, SecretUnavailableError, SignatureError, SourceUnavailableError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { METRICS, type ArchiveMode } from '../shared/contract.js';
import { noopMetrics, UNKNOWN_SOURCE, type BridgeMetrics } from '../shared/metrics.js';
import type { ActionQueue } from '../delivery/queue.js';
import { secretValues, type SecretBag, type SecretsProvider } from '../shared/secrets.js';
import type { Ledger } from '../ledger/types.js';
import type { Pacer } from '../delivery/rate-budget.js';
import type { Gate, OutboxDeps } from '../delivery/outbox.js';
import type { StepHook } from '../delivery/steps.js';
import { CLAIM_MS } from '../shared/budgets.js';
import { hash } from 'node:crypto';
import { processAlertEvent } from './alert-event.js';
import { answerOf, reply, type Answer, type EventResult } from './answer.js';
import { parseJsonObject, parseJsonObjectText } from './parse-body.js';
import { healthAnswer, notFoundAnswer, ROUTES } from './routes.js';
import { archivableHeaders, archiveKey, newDeliveryId, type Archive, type ArchivedDelivery, type DeliveryJournal } from '../journal/types.js';
import { mergeIngestRecord, shortTrace } from '../journal/trace.js';
import { FollowUps } from '../delivery/journal.js';
import { answerCode, ARCHIVED_WHEN_FAILED, deliveryStatus, JOURNAL_WAIT_MS, LATE, messageOf, recordOf, within, withDelivery, type DeliveryState } from './record.js';
import { replayDeliveries, type ReplayReport, type ReplayRequest } from './replay.js';

export interface IngestDeps {
  readonly rules: CompiledRules;
  readonly secrets: SecretsProvider;
  /** The update calls (comments, status, lookups) are used when present (issue 4). */
  readonly datadog: DatadogClient;
  readonly queue: ActionQueue;
  /** The dedup ledger: a DynamoLedger in Lambda and `npm start`; a MemoryLedger (single process) in tests. */
  readonly ledger: Ledger;
  readonly logger: Logger;
  /** Largest accepted body in bytes. */
  readonly maxBodyBytes: number;
  /** Never call Datadog. Without DD_API_KEY/DD_APP_KEY in the secret the bridge is a dry run anyway. */
  readonly dryRun?: boolean;
  /** Injected clock (ms since epoch). */
  readonly now?: () => number;
  readonly random?: () => number;
  /** WebhooksReceived, WebhooksRejected (by reason) and, through deliverCase, the Datadog outcomes. @default no-op */
  readonly metrics?: BridgeMetrics;
  /** Outbound HTTP of sources that need it (cloudwatch: SNS certificates and subscription confirmations). @default fetch */
  readonly fetch?: OutboundFetch;
  /** See MARKER_SEARCH_SETTLE_SECONDS. @default 60 */
  readonly markerSearchSettleSeconds?: number;
  /** Test-only crash-point hook (lambda/delivery/steps.ts). */
  readonly steps?: StepHook;
  /** A rate budget (issue 15). @default always go */
  readonly gate?: Gate;
  /** Time left in the invocation (ms). @default unbounded */
  readonly remainingMs?: () => number;
  /** The shared rate budget (issue 15), the outbox's gate: a webhook whose slot is further than INGEST_PACE_WAIT_MS away is queued (202). @default none */
  readonly pace?: Pacer;
  /** Waits for a rate-budget slot (injected with a fake clock in tests). @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * The delivery journal (issue 16): one record per webhook, written with its answer (waited for at
   * most JOURNAL_WAIT_MS). A failed write is counted (JournalFailed) and logged; the answer stands.
   * @default none (the delivery's log line still carries its trace)
   */
  readonly journal?: DeliveryJournal | undefined;
  /**
   * The raw archive (issue 16): the bytes and headers (credentials dropped) of every delivery that
   * verified, put while the work runs. A failed put is counted (ArchiveFailed) and logged. @default none
   */
  readonly archive?: Archive | undefined;
  /** Archive refused deliveries too (bad signature, malformed, not JSON…). @default false */
  readonly archiveRejected?: boolean | undefined;
  /**
   * Which deliveries are archived: `all`, as each verifies; `failed`, once answered, only those not
   * done then (ARCHIVED_WHEN_FAILED); `off`, none (the archive is still read by replay). @default 'all'
   */
  readonly archiveMode?: ArchiveMode | undefined;
}

/** How long a webhook waits for its rate-budget slot before it is queued instead (the sender waits too). */
export const INGEST_PACE_WAIT_MS = 250;

/**
 * Kept free before the sender's deadline (`ack_deadline_ms`) for what follows the last Datadog call:
 * queueing what is left, the ledger write, the answer and the network back to the sender.
 */
export const ACK_MARGIN_MS = 300;

/**
 * Of ACK_MARGIN_MS, what is kept for the answer's way back through API Gateway to the sender: the
 * wait for the journal and archive writes (at most JOURNAL_WAIT_MS) ends this long before the
 * sender's deadline, and a write not finished by then goes on in the background.
 */
export const ANSWER_NETWORK_MS = 100;

type Result = Answer;

/** The answer's message when the bridge secret cannot be used; what and why are in the log. */
export const SECRET_NOT_CONFIGURED = 'the bridge is not configured: its secret cannot be used; see the bridge logs';

/** Problems answered with their own status; `code` is stable for clients and tests. */
class HttpProblem extends BridgeError {
  constructor(readonly statusCode: number, readonly code: string, message: string) {
    super(message);
  }
}

const encoder = new TextEncoder();

/** Bodies up to a third of this many UTF-16 units are encoded here (three bytes per unit always suffice). */
const scratch = Buffer.allocUnsafeSlow(96 * 1024);

/**
 * The UTF-8 bytes of a text body (what the sender signed), as Buffer.from(text, 'utf8') gives them
 * (a lone surrogate becomes U+FFFD in both): TextEncoder.encodeInto is about 2.5 times faster for
 * non-ASCII text on Node 20.
 *
 * Most bodies are encoded into one shared buffer and the result is a VIEW of it, valid only until
 * the next call: use it synchronously, before any await (copying it out cost a third as much as
 * encoding). A body too large for the shared buffer gets bytes of its own.
 */
export function utf8Bytes(text: string): Buffer {
  if (text.length * 3 <= scratch.length) return scratch.subarray(0, encoder.encodeInto(text, scratch).written);
  const out = Buffer.allocUnsafe(text.length * 3);
  const { written } = encoder.encodeInto(text, out);
  return out.subarray(0, written);
}

/** Headers a source's `credential` names that hold no secret: a signature over the body, its timestamp and id, SNS's message type. */
const NOT_A_CREDENTIAL = /signature|timestamp|^webhook-id$|^x-amz-sns-/i;

/** Each configured source's credentialHeadersOf: its credential is fixed when the rules are compiled. */
const credentialHeaderNames = new WeakMap<CompiledSource, readonly string[]>();

/** A source's static credential headers (bearer, basic, a token header): never archived, whatever their names. */
function credentialHeadersOf(compiled: CompiledSource): readonly string[] {
  let names = credentialHeaderNames.get(compiled);
  if (names === undefined) {
    const { credential } = compiled.source;
    names = credential.static === true ? [...credential.headers] : credential.headers.filter((name) => !NOT_A_CREDENTIAL.test(name));
    credentialHeaderNames.set(compiled, names);
  }
  return names;
}

/**
 * Sources whose signature covers the body only, with neither a timestamp nor the delivery id (GitHub's
 * X-GitHub-Delivery, Sentry's Request-ID, PagerDuty's X-Webhook-Id): a captured body sent again with a
 * new id would be new work (and Sentry's event time, its unsigned Sentry-Hook-Timestamp, would be the
 * forger's), so their delivery key is a hash of the signed body. Each of their events is its own body
 * (an id or a time in it), and their retries send the same bytes.
 */
const BODY_KEYED_SOURCES: ReadonlySet<string> = new Set(['github', 'sentry', 'pagerduty']);

/** Delivery id headers of the senders (same on every retry of one delivery). */
const DELIVERY_HEADERS = ['x-github-delivery', 'x-webhook-id', 'webhook-id', 'request-id'] as const;

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json$/i;

function isJsonContentType(value: string | undefined, textToo: boolean): boolean {
  if (value === undefined) return false;
  if (value === 'application/json') return true; // what nearly every sender sends: no parsing
  const [type, ...params] = value.split(';').map((s) => s.trim());
  if (type === undefined || !(JSON_TYPE.test(type) || (textToo && type.toLowerCase() === 'text/plain'))) return false;
  const charset = params.find((p) => p.toLowerCase().startsWith('charset='));
  return charset === undefined || /^charset="?utf-8"?$/i.test(charset);
}

function lowerCaseHeaders(headers: APIGatewayProxyEventV2['headers']): Record<string, string> {
  if (headers === undefined) return {};
  // HTTP API (payload v2) delivers names lower-cased: the event's own object is then used as it is
  // (it is only read, never written). A `__proto__` name takes the copy, which drops it as it always did.
  let copy = false;
  for (const k in headers) {
    if (headers[k] === undefined || k === '__proto__' || k.toLowerCase() !== k) {
      copy = true;
      break;
    }
  }
  if (!copy) return headers as Record<string, string>;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k.toLowerCase()] = v;
  return out;
}

/** Datadog keys from the secret read for this request; `refresh` re-reads the secret (after a 401/403). */
class RequestKeys {
  constructor(
    private readonly bag: SecretBag,
    private readonly secrets: SecretsProvider,
  ) {}

  async get(): Promise<DatadogKeys> {
    return { apiKey: this.bag['DD_API_KEY'] ?? '', appKey: this.bag['DD_APP_KEY'] ?? '' };
  }

  async refresh(): Promise<DatadogKeys> {
    const fresh = await this.secrets.refresh();
    return { apiKey: fresh['DD_API_KEY'] ?? '', appKey: fresh['DD_APP_KEY'] ?? '' };
  }
}

/** API Gateway gives up on an integration after 30 s: a request it received earlier than that is no longer waited for. */
const API_GATEWAY_TIMEOUT_MS = 30_000;

/**
 * When the sender's wait began, as near as the bridge can tell: API Gateway's receive time
 * (`requestContext.timeEpoch`), when it is one (not after the handler started, nor before API Gateway
 * could still be waiting); else when the handler started. A cold container's start (and any queueing
 * in front of the function) comes out of the sender's deadline, not on top of it.
 */
export function requestStartedAt(event: APIGatewayProxyEventV2, handlerStartedAt: number): number {
  const at = (event.requestContext as { timeEpoch?: unknown } | undefined)?.timeEpoch;
  return typeof at === 'number' && Number.isFinite(at) && at <= handlerStartedAt && at >= handlerStartedAt - API_GATEWAY_TIMEOUT_MS ? at : handlerStartedAt;
}

/** The invocation's time left (Lambda), so that a Datadog call that would not fit is left to the watchdog. */
function remainingOf(context: Context | undefined): (() => number) | undefined {
  return typeof context?.getRemainingTimeInMillis === 'function' ? () => context.getRemainingTimeInMillis() : undefined;
}

/** The configured sources whose key is not in the secret (nor its `_PREVIOUS`): their webhooks would be answered 500. */
export function missingSecretKeys(rules: CompiledRules, bag: SecretBag): { source: string; key: string }[] {
  const missing: { source: string; key: string }[] = [];
  for (const [source, { secretKey }] of rules.sources) if (secretKey !== undefined && secretValues(bag, secretKey).length === 0) missing.push({ source, key: secretKey });
  return missing;
}

/** verify -> parse -> map -> deliver (or enqueue). Each guard has its own status code. */
export function createIngestHandler(deps: IngestDeps) {
  const now = deps.now ?? Date.now;
  const metrics = deps.metrics ?? noopMetrics;
  const ledger = deps.ledger;
  // Once, at the first secret load (a cold start's first webhook): sources whose key is missing.
  let secretKeysChecked = false;
  /** Each webhook request's journal state (issue 16), until it is answered. */
  const deliveries = new WeakMap<APIGatewayProxyEventV2, DeliveryState>();

  /** Starts the archive put of a delivery (never rejects: a failure is counted, logged and named in the record). */
  function archiveDelivery(st: DeliveryState, body: Uint8Array, headers: Record<string, string>, alsoDrop: readonly string[], rejected: boolean): void {
    const archive = deps.archive;
    if (archive === undefined || deps.archiveMode === 'off') return;
    if (!rejected && deps.archiveMode === 'failed' && st.archiveIfFailed === undefined) {
      st.archiveIfFailed = () => archiveDelivery(st, body, headers, alsoDrop, false);
      return;
    }
    st.archived = archive.put({ source: st.source, id: st.id, receivedAt: st.receivedAt, body, headers: archivableHeaders(headers, alsoDrop), rejected }).then(
      ({ key }) => ({ key }),
      (error: unknown) => {
        metrics.outcome('ArchiveFailed', st.source, rejected ? 'rejected' : 'accepted');
        deps.logger.error('delivery not archived; the delivery itself is handled', { source: st.source, delivery: st.id, error });
        return { error: error instanceof Error ? error.message : String(error) };
      },
    );
  }

  /**
   * The end of every webhook request (issue 16): its journal record written (with the follow-ups of
   * other deliveries this one finished), its log line with the trace, and the answer with the
   * delivery id and trace. Journal and archive failures never change the answer.
   */
  async function finish(event: APIGatewayProxyEventV2 | undefined, st: DeliveryState | undefined, answer: Result): Promise<Result> {
    if (st === undefined) return answer;
    if (event !== undefined) deliveries.delete(event);
    // Archive mode `failed`: the put starts now, for a delivery not done when answered.
    if (st.archiveIfFailed !== undefined && st.archived === undefined && ARCHIVED_WHEN_FAILED.has(deliveryStatus(answer.statusCode ?? 200, answerCode(answer), st.results))) st.archiveIfFailed();
    // Both waits together stay within JOURNAL_WAIT_MS, and end before the sender's deadline less the
    // answer's way back: a slow store never holds the answer longer, nor past the sender's wait.
    const waitMs = st.answerBy === undefined ? JOURNAL_WAIT_MS : Math.max(0, Math.min(JOURNAL_WAIT_MS, st.answerBy - now()));
    const waitUntil = Date.now() + waitMs;
    const put = st.archived === undefined ? undefined : await within(st.archived, waitMs);
    const archived = put === LATE ? { key: archiveKey(st.source, st.receivedAt, st.id), late: true, waitMs } : put;
    const finishedAt = now();
    const record = recordOf(st, answer, finishedAt, (answer.statusCode ?? 200) >= 300 ? messageOf(answer) : undefined, archived);
    const trace = shortTrace(record);
    const journal = deps.journal;
    const written = await within(
      Promise.all([
        st.followUps?.settle(),
        journal?.update(st.id, (current) => mergeIngestRecord(current, record), { expectNew: true }).catch((error: unknown) => {
          metrics.outcome('JournalFailed', st.source, record.status);
          deps.logger.error('journal record not written; the delivery itself is handled', { source: st.source, delivery: st.id, error });
        }),
      ]),
      waitUntil - Date.now(),
    );
    if (put === LATE || written === LATE) {
      metrics.outcome(put === LATE ? 'ArchiveFailed' : 'JournalFailed', st.source, 'late');
      deps.logger.warn('journal or archive write not finished when the webhook was answered; it goes on in the background', { source: st.source, delivery: st.id, archive: put === LATE, journal: written === LATE, waitMs });
    }
    metrics.outcome('Deliveries', st.source, record.status);
    // With API Gateway's request id (the access log's), the one info line of a webhook handled without trouble.
    deps.logger.info('delivery', { source: st.source, requestId: event?.requestContext?.requestId, delivery: st.id, deliveryId: st.senderDeliveryId, status: record.status, answer: record.answer.status, trace, ms: record.timings.totalMs });
    return withDelivery(answer, st.id, trace);
  }

  async function handle(event: APIGatewayProxyEventV2, context?: Context): Promise<Result> {
    const answer = await handleRequest(event, context);
    return finish(event, deliveries.get(event), answer);
  }

  async function handleRequest(event: APIGatewayProxyEventV2, context?: Context): Promise<Result> {
    // The sender's clock starts before ours: API Gateway's receive time counts a cold start and any
    // wait in front of the function; the margin covers the network either side.
    const receivedAt = now();
    const waitedFrom = requestStartedAt(event, receivedAt);
    // The API's other routes: no secret read, no Datadog call.
    if (event.routeKey === ROUTES.health) return healthAnswer(deps.rules);
    if (event.pathParameters?.['source'] === undefined) return notFoundAnswer(event);
    const sourceName = event.pathParameters['source'];
    const compiled = isSourceName(sourceName) ? deps.rules.sources.get(sourceName) : undefined;
    const st: DeliveryState = { id: newDeliveryId(receivedAt), source: compiled?.name ?? UNKNOWN_SOURCE, receivedAt, verified: false, actions: [] };
    deliveries.set(event, st);
    if (compiled === undefined) {
      throw new HttpProblem(404, 'unknown_source', `no source "${sourceName.slice(0, 64)}" is configured; configured: ${[...deps.rules.sources.keys()].join(', ')}`);
    }
    metrics.count('WebhooksReceived', compiled.name);
    // The source's code (a chunk of its own in the Lambda bundle, loaded on its first webhook, then
    // kept): a failed load throws SourceUnavailableError, answered 503 so that the sender retries.
    await compiled.load();
    // HMAC runs on the bytes; a text body is also parsed as the string it already is.
    const text = event.isBase64Encoded ? undefined : (event.body ?? '');
    // A text body is at least as many bytes as UTF-16 units: a huge one is refused before encoding.
    if (text !== undefined && text.length > deps.maxBodyBytes) throw new HttpProblem(413, 'body_too_large', `body is at least ${text.length} bytes; the limit is ${deps.maxBodyBytes}`);
    const headers = lowerCaseHeaders(event.headers);
    if (!isJsonContentType(headers['content-type'], compiled.source.textBody)) {
      throw new HttpProblem(415, 'unsupported_content_type', `content type must be application/json, got ${JSON.stringify(headers['content-type'] ?? null)}`);
    }
    const bag = await deps.secrets.get();
    if (!secretKeysChecked) {
      secretKeysChecked = true;
      for (const { source, key } of missingSecretKeys(deps.rules, bag)) {
        deps.logger.warn(`source ${source} has no secret: add ${key} to the bridge secret; until then its webhooks are answered 500 not_configured`, { source, key });
      }
    }

    // No await from here to the parse: `raw` of a text body is a view of utf8Bytes' shared buffer,
    // which the next request (the local bridge serves several at once) encodes into.
    const raw = text === undefined ? Buffer.from(event.body ?? '', 'base64') : utf8Bytes(text);
    if (raw.length > deps.maxBodyBytes) throw new HttpProblem(413, 'body_too_large', `body is ${raw.length} bytes; the limit is ${deps.maxBodyBytes}`);
    // The archive's copy of the bytes: `raw` may be a view of the shared buffer, reused after an await.
    const archived = deps.archive === undefined || deps.archiveMode === 'off' ? undefined : Buffer.from(raw);
    const credentialHeaders = credentialHeadersOf(compiled);

    // Verify on the raw bytes, before anything reads them. Fail closed when the secret is missing.
    const { authenticate } = compiled.source;
    let body: JsonObject;
    let bodyKey: string | undefined;
    if (authenticate === undefined) {
      const secretKey = compiled.source.settings.secret ?? '';
      const secrets = secretValues(bag, secretKey);
      if (secrets.length === 0) throw new ConfigError(`the bridge secret has no value for ${secretKey} (needed by source ${compiled.source.name})`);
      if (!compiled.source.verify(raw, headers, secrets, Math.floor(now() / 1000))) {
        // Names what the source expects; never what was received.
        const { headers: expected, mismatch } = compiled.source.credential;
        const missing = expected.filter((name) => !headers[name.toLowerCase()]);
        const names = missing.length > 1 ? `${missing.slice(0, -1).join(', ')} and ${missing.at(-1)} headers` : `${missing[0]} header`;
        throw new SignatureError(missing.length > 0 ? `missing ${names}` : mismatch);
      }
      st.verified = true;
      if (archived !== undefined) archiveDelivery(st, archived, headers, credentialHeaders, false);
      body = text === undefined ? parseJsonObject(raw) : parseJsonObjectText(text, raw);
      // A sender that signs neither a timestamp nor its delivery id: the delivery key is a hash of the signed
      // body (issue 13), taken here, before any await, while `raw` still holds this request's bytes.
      if (BODY_KEYED_SOURCES.has(compiled.source.name)) bodyKey = `b:${hash('sha256', raw, 'hex')}`;
    } else {
      // The signature is over fields of the body (Amazon SNS): read it, then check it before anything uses it.
      // A body that is not even JSON is not a signed message: 401, as any other unauthenticated request.
      try {
        body = text === undefined ? parseJsonObject(raw) : parseJsonObjectText(text, raw);
      } catch (error) {
        if (error instanceof PayloadError) throw new SignatureError('not a signed message', { cause: error });
        throw error;
      }
      const auth = await authenticate(body, headers, { nowMs: now(), fetch: deps.fetch ?? defaultFetch });
      if (!auth.ok) throw new SignatureError(auth.reason);
      st.verified = true;
      if (archived !== undefined) archiveDelivery(st, archived, headers, credentialHeaders, false);
      metrics.count('WebhooksVerified', compiled.source.name);
      if (auth.handled !== undefined) {
        deps.logger.info(auth.handled.message, { source: compiled.source.name, requestId: event.requestContext?.requestId, ...auth.handled.detail });
        return reply(200, { status: auth.handled.status, ...auth.handled.detail });
      }
      return processBody(compiled, body, headers, event.requestContext?.requestId, bag, { context, receivedAt, waitedFrom, st });
    }
    metrics.count('WebhooksVerified', compiled.source.name);
    return processBody(compiled, body, headers, event.requestContext?.requestId, bag, { bodyKey, context, receivedAt, waitedFrom, st });
  }

  /** A verified body: parse -> rules -> ledger and lifecycle. Also the entry of trusted events (EventBridge). */
  async function processBody(
    compiled: CompiledSource,
    body: JsonObject,
    headers: Record<string, string>,
    requestId: string | undefined,
    bag: SecretBag,
    request: { readonly bodyKey?: string | undefined; readonly context?: Context | undefined; readonly receivedAt?: number | undefined; readonly waitedFrom?: number | undefined; readonly st: DeliveryState; readonly replay?: boolean | undefined },
  ): Promise<Result> {
    const { bodyKey, context, st } = request;
    // The sender's deadline runs from when the request came in (a trusted event's: now).
    const receivedAt = request.receivedAt ?? now();
    const events: SourceEvent[] = compiled.source.parse(body, headers);
    const deliveryId = events[0]?.deliveryId;
    st.senderDeliveryId = deliveryId;
    const elog = deps.logger.child({ source: compiled.source.name, requestId, deliveryId });
    if (events.length === 0 || events.every((e) => e.ping)) {
      elog.info('ping answered');
      return reply(202, { status: 'ping', deliveryId });
    }

    const apiKey = bag['DD_API_KEY'];
    const appKey = bag['DD_APP_KEY'];
    const dryRun = deps.dryRun === true || !apiKey || !appKey;
    const keys = new RequestKeys(bag, deps.secrets);
    // The delivery's key (issue 13): its id, or for GitHub (which signs no timestamp and not the
    // delivery id) a hash of the signed body, so a captured body sent again with a new id is a duplicate.
    // It is claimed before the work and marked done only once the work is stored (the ledger entry's
    // transition and outbox): a worker that died in between leaves it claimed, and the sender's retry
    // after CLAIM_MS takes it over. A redelivery of finished work is `200 duplicate`.
    // A replay (issue 16) is a new delivery by design: the sender's delivery id, handled already, is not claimed.
    // A body-keyed delivery is keyed whether or not the (unsigned) id header came with it: leaving it out must not skip the check.
    const deliveryKey = request.replay === true ? undefined : (bodyKey ?? deliveryId);
    if (!dryRun && deliveryKey !== undefined) {
      const claim = await ledger.claimDelivery(compiled.source.name, deliveryKey, now(), CLAIM_MS);
      if (claim === 'done') {
        elog.info('duplicate delivery: already handled');
        metrics.count('CasesDeduplicated', compiled.source.name);
        return reply(200, { status: 'duplicate', deliveryId });
      }
      if (claim === 'in_progress') {
        elog.info('delivery still being handled by another request: answered 503 in_progress');
        // Not a 4xx: senders give up on those. Its work may not be stored yet, so the sender must send it again.
        return reply(503, { error: 'in_progress', message: 'this delivery is being handled by another request; send it again', deliveryId });
      }
    }
    // Deadlines (issue 15): the invocation's time left (remainingMs) and the sender's, ack_deadline_ms less ACK_MARGIN_MS (deadlineAt): no Datadog call runs past it.
    const followUps = new FollowUps(deps.journal, metrics, elog, now);
    st.followUps = followUps;
    // Each outbox action run for this request: this delivery's go into its record, an earlier delivery's into that one's.
    const onAction: OutboxDeps['onAction'] = (key, action, report) => {
      if (action.journalId === st.id) st.actions.push({ key, action, report });
      else followUps.report(key.source, action.journalId, report);
    };
    st.answerBy = (request.waitedFrom ?? receivedAt) + compiled.ackDeadlineMs - ANSWER_NETWORK_MS;
    const lifecycleDeps = { onAction, datadog: deps.datadog, keys, queue: deps.queue, logger: elog, random: deps.random, metrics, ledger, now, markerSearchSettleSeconds: deps.markerSearchSettleSeconds, steps: deps.steps, gate: deps.gate, remainingMs: deps.remainingMs ?? remainingOf(context), pace: deps.pace, paceWaitMs: INGEST_PACE_WAIT_MS, sleep: deps.sleep, deadlineAt: (request.waitedFrom ?? receivedAt) + compiled.ackDeadlineMs - ACK_MARGIN_MS };
    if (dryRun || deliveryKey === undefined) return handleEvents(compiled, events, dryRun, deliveryId, elog, lifecycleDeps, receivedAt, st);
    let answer: Result;
    try {
      answer = await handleEvents(compiled, events, dryRun, deliveryId, elog, lifecycleDeps, receivedAt, st);
    } catch (error) {
      // Not handled after all (answered 5xx): forget the delivery id so that the sender's retry is.
      await ledger.forgetDelivery(compiled.source.name, deliveryKey).catch((forgetError: unknown) => {
        // The claim lapses after CLAIM_MS: the sender's retry is handled then.
        elog.error('delivery id not forgotten after a failure: a redelivery is handled once its claim lapses', { error: forgetError });
      });
      throw error;
    }
    await ledger.finishDelivery(compiled.source.name, deliveryKey, now());
    return answer;
  }

  async function handleEvents(compiled: CompiledSource, events: readonly SourceEvent[], dryRun: boolean, deliveryId: string | undefined, elog: Logger, lifecycleDeps: OutboxDeps, receivedAt: number, st: DeliveryState): Promise<Result> {
    const results: EventResult[] = [];
    st.results = results;
    st.signals = events.map((e) => e.signal);
    st.workStart = now();
    for (const ev of events) {
      const mapped = await mapEventToCase(compiled, ev);
      if (mapped.outcome === 'case' && mapped.warnings.length > 0) elog.warn('rule output adjusted', { rule: mapped.rule, warnings: mapped.warnings });
      // A case, and a resolve or an update no rule takes (it may still concern an alert's case): the lifecycle.
      // A replay's events happened when the original was received, and are no new occurrence (issue 16).
      const delivered = dryRun ? undefined : await processAlertEvent(compiled, ev, mapped, lifecycleDeps, st.replay?.receivedAt ?? receivedAt, st.id, st.replay !== undefined);
      if (delivered !== undefined) {
        const { outcome } = delivered;
        // Debug (issue 15): the delivery line's trace tells the case made; its journal record, the identity and case id.
        if (outcome.status === 'created') elog.debug('case created', { rule: delivered.rule, identity: ev.identity, caseId: outcome.case.id, caseKey: outcome.case.key });
        results.push({ status: 'delivered', identity: ev.identity, dedupIdentity: delivered.identity, type: ev.type, rule: delivered.rule, outcome });
      } else if (mapped.outcome === 'case') {
        elog.info('dry run: case not sent', { rule: mapped.rule, identity: ev.identity, request: mapped.request });
        results.push({ status: 'dry_run', identity: ev.identity, type: ev.type, rule: mapped.rule, request: mapped.request, warnings: mapped.warnings });
      } else {
        elog.info(mapped.outcome === 'ignored' ? 'event ignored by rule' : 'no rule matched', { type: ev.type, identity: ev.identity, reason: mapped.reason });
        results.push(mapped.outcome === 'ignored' ? { status: 'ignored', identity: ev.identity, type: ev.type, rule: mapped.rule, reason: mapped.reason } : { status: 'no_match', identity: ev.identity, type: ev.type, reason: mapped.reason });
      }
    }
    st.workEnd = now();
    return answerOf(results, deliveryId);
  }

  const errorAnswers: middy.MiddlewareObj<APIGatewayProxyEventV2, Result> = {
    onError: async (request) => {
      const error = request.error;
      // Rejections happen before the per-request logger exists: name the request here.
      const h = lowerCaseHeaders(request.event.headers);
      const log = deps.logger.child({
        source: request.event.pathParameters?.['source'],
        requestId: request.event.requestContext?.requestId,
        deliveryId: DELIVERY_HEADERS.map((name) => h[name]).find((v) => v !== undefined),
      });
      // Every refusal counts by its error code; a path that names no configured source counts as 'unknown'.
      const path = request.event.pathParameters?.['source'];
      const rejectedSource = path !== undefined && isSourceName(path) && deps.rules.sources.has(path) ? path : UNKNOWN_SOURCE;
      const refuse = (statusCode: number, body: { error: string; message: string }): Result => {
        metrics.rejected(rejectedSource, body.error);
        return reply(statusCode, body);
      };
      if (error instanceof HttpProblem) {
        log.info('webhook refused', { status: error.statusCode, reason: error.code });
        request.response = refuse(error.statusCode, { error: error.code, message: error.message });
      } else if (error instanceof SignatureError) {
        log.warn('webhook rejected: not authenticated', { reason: error.message });
        request.response = refuse(401, { error: METRICS.invalidSignatureReason, message: error.message });
      } else if (error instanceof PayloadError) {
        log.warn('webhook rejected: malformed body', { reason: error.message });
        request.response = refuse(400, { error: 'malformed_payload', message: error.message });
      } else if (error instanceof QueueError) {
        log.error('webhook not accepted: the retry queue failed', { error });
        request.response = refuse(503, { error: 'queue_unavailable', message: 'the webhook could not be stored for retry; send it again' });
      } else if (error instanceof SecretUnavailableError) {
        log.error('webhook not accepted: the bridge secret could not be read', { error });
        request.response = refuse(503, { error: 'secret_unavailable', message: 'the bridge secret could not be read; send it again' });
      } else if (error instanceof AuthenticationUnavailableError) {
        log.error('webhook not accepted: authenticating it needs a service that did not answer', { error });
        request.response = refuse(503, { error: 'authentication_unavailable', message: 'the request could not be authenticated now (its signing certificate or subscription service did not answer); send it again' });
      } else if (error instanceof SourceUnavailableError) {
        log.error('webhook not accepted: the code of its source could not be loaded', { error });
        request.response = refuse(503, { error: 'source_unavailable', message: 'the bridge could not load the code of this source; send it again' });
      } else if (error instanceof LedgerError) {
        log.error('webhook not accepted: the dedup ledger failed', { error });
        request.response = refuse(503, { error: 'ledger_unavailable', message: 'the dedup ledger could not be reached; send it again' });
      } else if (error instanceof SecretConfigError) {
        // Read before the signature is checked: anyone may see the answer, and AWS's reason names the role and account.
        log.error('webhook not accepted: the bridge secret cannot be used', { error });
        request.response = refuse(500, { error: 'not_configured', message: SECRET_NOT_CONFIGURED });
      } else if (error instanceof ConfigError) {
        log.error('webhook not accepted: configuration error', { error });
        request.response = refuse(500, { error: 'not_configured', message: error.message });
      } else {
        log.error('webhook not accepted: unexpected error', { error });
        request.response = refuse(500, { error: 'internal_error', message: 'unexpected error; see the bridge logs' });
      }
      const st = deliveries.get(request.event);
      // Refused before its body was read: the id its headers claim (unverified).
      if (st !== undefined) st.senderDeliveryId ??= DELIVERY_HEADERS.map((name) => h[name]).find((v) => v !== undefined);
      if (st !== undefined && !st.verified && st.archived === undefined && deps.archiveRejected === true && request.response.statusCode !== 413) {
        const { body, isBase64Encoded } = request.event;
        // Refused (a wrong content type, a wrong credential...): its credential header is dropped as an accepted one's is.
        // A source whose code could not be loaded names no credential headers: every header is dropped then.
        const compiled = isSourceName(st.source) ? deps.rules.sources.get(st.source) : undefined;
        const alsoDrop = compiled === undefined ? [] : error instanceof SourceUnavailableError ? Object.keys(h) : credentialHeadersOf(compiled);
        archiveDelivery(st, Buffer.from(body ?? '', isBase64Encoded ? 'base64' : 'utf8'), h, alsoDrop, true);
      }
      request.response = await finish(request.event, st, request.response);
    },
  };

  /**
   * An event that needs no signature because AWS delivered it with IAM (an EventBridge rule invoking
   * the function asynchronously): the same parse, rules, ledger and lifecycle as a verified webhook
   * of `sourceName`. Answered as a webhook when its outcome is final (created, duplicate, below the
   * threshold, no rule…). When it was not written ahead (ledger, retry queue or secret unavailable,
   * another invocation on it, a malformed event) it is journaled and logged as failed and THROWS,
   * as does a 5xx answer: Lambda retries the invocation twice, then sends the event to the stack's
   * on-failure queue (lib/alarm-events.ts), never dropping it.
   */
  async function handleTrusted(sourceName: string, body: JsonObject, requestId: string | undefined): Promise<Result> {
    const compiled = isSourceName(sourceName) ? deps.rules.sources.get(sourceName) : undefined;
    if (compiled === undefined) throw new ConfigError(`an event for source ${sourceName} arrived, but the rules configure no ${sourceName} source`);
    metrics.count('WebhooksReceived', compiled.name);
    metrics.count('WebhooksVerified', compiled.name);
    const receivedAt = now();
    const st: DeliveryState = { id: newDeliveryId(receivedAt), source: compiled.name, receivedAt, verified: true, actions: [] };
    if (deps.archive !== undefined) archiveDelivery(st, Buffer.from(JSON.stringify(body)), {}, [], false);
    const failed = (error: unknown) =>
      deps.logger.error(`${sourceName} event not handled: the invocation fails, so that Lambda retries it and then keeps it in the on-failure queue`, { source: sourceName, requestId, deliveryId: st.senderDeliveryId, delivery: st.id, error });
    let answer: Result;
    try {
      await compiled.load();
      answer = await processBody(compiled, body, {}, requestId, await deps.secrets.get(), { receivedAt, st });
    } catch (error) {
      failed(error);
      await finish(undefined, st, reply(500, { error: 'not_handled', message: error instanceof Error ? error.message : String(error) }));
      throw error;
    }
    answer = await finish(undefined, st, answer);
    if ((answer.statusCode ?? 500) >= 500) {
      const error = new BridgeError(`the ${sourceName} event was not handled (${answer.statusCode}): ${String(answer.body)}`);
      failed(error);
      throw error;
    }
    return answer;
  }

  /**
   * Replay (issue 16, lambda/ingest/replay.ts): an archived delivery run again through the current
   * rules as a new delivery. It enters after verification: the signature was verified when it was first
   * received, and its bytes are read from the archive, which only the bridge writes. The dedup ledger
   * applies as to any delivery; the sender's delivery id is not claimed again.
   */
  async function replayDelivery(archived: ArchivedDelivery, replayOf: string, originalReceivedAt: number): Promise<Result> {
    const receivedAt = now();
    // Its bytes are the original's, archived under the original's key: not stored again.
    const st: DeliveryState = { id: newDeliveryId(receivedAt), source: archived.source, receivedAt, verified: true, actions: [], replay: { of: replayOf, receivedAt: originalReceivedAt }, archived: Promise.resolve({ key: archived.key }) };
    let answer: Result;
    try {
      const compiled = isSourceName(archived.source) ? deps.rules.sources.get(archived.source) : undefined;
      if (compiled === undefined) throw new ConfigError(`the rules configure no ${archived.source} source`);
      await compiled.load();
      const body = parseJsonObject(Buffer.from(archived.body));
      answer = await processBody(compiled, body, { ...archived.headers }, undefined, await deps.secrets.get(), { receivedAt, st, replay: true });
    } catch (error) {
      // Journaled as failed (a webhook would be answered 5xx), then thrown: the replay report says so.
      await finish(undefined, st, reply(500, { error: 'replay_failed', message: error instanceof Error ? error.message : String(error) }));
      throw error;
    }
    return finish(undefined, st, answer);
  }

  /**
   * A replay request (`npm run replay`, the local console, the deployed function's replay event):
   * each delivery previewed, or (apply) run again with replayDelivery. Needs the journal and the archive.
   */
  async function replay(request: ReplayRequest, context?: Context): Promise<ReplayReport> {
    const { journal, archive } = deps;
    if (journal === undefined || archive === undefined) throw new ConfigError('replay needs the delivery journal and the raw archive, and this bridge has not both');
    return replayDeliveries(request, {
      rules: deps.rules,
      ledger,
      journal,
      archive,
      now,
      remainingMs: deps.remainingMs ?? remainingOf(context),
      apply: async (original, archived) => {
        const answer = await replayDelivery(archived, original.id, original.receivedAt);
        const delivery = answer.headers?.['x-case-bridge-delivery'];
        const id = typeof delivery === 'string' ? delivery : undefined;
        const record = id === undefined ? undefined : await journal.get(id).catch(() => undefined);
        let body: unknown = answer.body;
        try {
          body = JSON.parse(String(answer.body ?? ''));
        } catch {
          // not JSON: kept as text
        }
        return { delivery: id, status: record?.status ?? deliveryStatus(answer.statusCode ?? 200, answerCode(answer), undefined), answer: { status: answer.statusCode ?? 200, body } };
      },
    });
  }

  // No early-timeout timer: every Datadog call has its own deadline, well inside the function's timeout.
  return Object.assign(middy<APIGatewayProxyEventV2, Result, Error, Context>(handle, { timeoutEarlyInMillis: 0 }).use(errorAnswers), { handleTrusted, replayDelivery, replay });
}
