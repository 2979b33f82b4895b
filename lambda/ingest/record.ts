import type { AlertKey, OutboxAction } from '../ledger/types.js';
import { FAILED_STATUSES, fitRecord, type DeliveryAction, type DeliveryEvent, type DeliveryRecord, type DeliveryStatus } from '../journal/types.js';
import { replyCode, type Answer, type EventResult } from './answer.js';
import type { FollowUps } from '../delivery/journal.js';

/** What the ingest learns about one delivery while handling it (issue 16): the journal record's makings. */
export interface DeliveryState {
  readonly id: string;
  readonly source: string;
  readonly receivedAt: number;
  verified: boolean;
  senderDeliveryId?: string | undefined;
  /**
   * When the answer must leave for the sender to have it within its deadline (`ack_deadline_ms` less
   * ANSWER_NETWORK_MS, lambda/ingest/handler.ts), on the handler's clock: the journal and archive
   * wait ends by then. Unset until the body has verified (the answers before it wait JOURNAL_WAIT_MS).
   */
  answerBy?: number;
  /** Parsed events with their outcomes (handleEvents), and each one's signal. */
  results?: readonly EventResult[];
  signals?: readonly string[];
  /** Outbox actions of this delivery reported by its runs, by alert. */
  readonly actions: { key: AlertKey; action: OutboxAction; report: DeliveryAction }[];
  /** When the rules, ledger and Datadog part started and ended (ms). */
  workStart?: number;
  workEnd?: number;
  /** Writes of other deliveries' records this request's runs finished work of. */
  followUps?: FollowUps;
  /** A replay (issue 16): the original delivery and when it was received. */
  replay?: { readonly of: string; readonly receivedAt: number } | undefined;
  /** The archive put, started once the delivery verified (or refused, with CASE_BRIDGE_ARCHIVE_REJECTED). */
  archived?: Promise<{ key: string } | { error: string }>;
  /** With the archive mode `failed`: starts the put, if the delivery's status asks for it when answered. */
  archiveIfFailed?: () => void;
}

/**
 * How long the answer waits for the archive put and the journal write once the work is done (ms).
 * Inside ANSWER_MARGIN_MS (lambda/shared/budgets.ts), which every Datadog call leaves free before the
 * invocation ends, so a slow S3 or DynamoDB never holds the answer (or the function) longer. The archive
 * put started when the signature verified, so it has had the whole work's time already.
 */
export const JOURNAL_WAIT_MS = 300;

/**
 * The archive mode `failed` (ARCHIVE_MODES) keeps the deliveries `--status failed` lists and those
 * whose work was not done when answered (queued, in progress): the ones a replay may be needed for.
 */
export const ARCHIVED_WHEN_FAILED: ReadonlySet<DeliveryStatus> = new Set<DeliveryStatus>([...FAILED_STATUSES, 'queued', 'in_progress']);

/** What did not settle within the wait. */
export const LATE = Symbol('late');

/** A promise fulfilled already: raced after another, it wins only when that one has not settled yet. */
const NOT_YET_VALUE = Symbol('not yet');
const NOT_YET = Promise.resolve(NOT_YET_VALUE);

/** `promise`'s value, or LATE once `ms` have passed (the promise goes on; it must never reject). */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof LATE> {
  // Settled already (the archive put, by the time the work is done): its value, without a timer.
  const settled = await Promise.race([promise, NOT_YET]);
  if (settled !== NOT_YET_VALUE) return settled as T;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<typeof LATE>((resolve) => {
    timer = setTimeout(() => resolve(LATE), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

const ANSWER_STATUSES: Readonly<Record<string, DeliveryStatus>> = {
  created: 'created',
  duplicate: 'duplicate',
  deduplicated: 'deduplicated',
  updated: 'updated',
  below_threshold: 'below_threshold',
  no_match: 'no_match',
  ignored: 'ignored',
  queued: 'queued',
  dead_lettered: 'dead_lettered',
  dry_run: 'dry_run',
  ping: 'ping',
  subscription_confirmed: 'handled',
  unsubscribed: 'handled',
};

/** The order in which several events' outcomes name the delivery's (`accepted` answers): the most telling first. */
const PRECEDENCE: readonly DeliveryStatus[] = ['dead_lettered', 'queued', 'created', 'updated', 'deduplicated', 'below_threshold', 'dry_run', 'ignored', 'no_match'];

function eventStatus(result: EventResult): DeliveryStatus {
  return result.status === 'delivered' ? result.outcome.status : result.status;
}

/** The delivery's status from its answer (and, for several events, their outcomes). */
export function deliveryStatus(statusCode: number, code: string, results: readonly EventResult[] | undefined): DeliveryStatus {
  const known = ANSWER_STATUSES[code];
  if (known !== undefined) return known;
  if (code === 'accepted' && results !== undefined && results.length > 0) {
    const statuses = new Set(results.map(eventStatus));
    return PRECEDENCE.find((s) => statuses.has(s)) ?? 'no_match';
  }
  if (code === 'in_progress') return 'in_progress';
  return statusCode >= 500 ? 'error' : 'rejected';
}

/** The answer's `message` (errors), if any. */
export function messageOf(answer: Answer): string | undefined {
  try {
    const body = JSON.parse(typeof answer.body === 'string' ? answer.body : '{}') as { message?: unknown };
    return typeof body.message === 'string' ? body.message : undefined;
  } catch {
    return undefined;
  }
}

/** The answer's `status`, or its `error` code. */
export function answerCode(answer: Answer): string {
  const known = replyCode(answer);
  if (known !== undefined) return known;
  try {
    const body = JSON.parse(typeof answer.body === 'string' ? answer.body : '{}') as { status?: unknown; error?: unknown };
    return typeof body.status === 'string' ? body.status : typeof body.error === 'string' ? body.error : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** What one event did, with the actions its runs reported (or, when none ran, what its outcome says). */
function eventTrace(result: EventResult, signal: string, actions: DeliveryState['actions'], at: number): DeliveryEvent {
  const base = { type: result.type, identity: result.identity, signal };
  switch (result.status) {
    case 'dry_run':
      return { ...base, rule: result.rule, outcome: 'dry_run', actions: [] };
    case 'ignored':
      return { ...base, rule: result.rule, outcome: 'ignored', reason: result.reason, actions: [] };
    case 'no_match':
      return { ...base, noRule: result.reason, outcome: 'no_match', actions: [] };
    case 'delivered':
      break;
  }
  const { outcome } = result;
  const mine = actions.filter((a) => a.key.identity === result.dedupIdentity).map((a) => a.report);
  const event: DeliveryEvent = {
    ...base,
    ...(result.dedupIdentity !== result.identity ? { dedupIdentity: result.dedupIdentity } : {}),
    ...(result.rule !== undefined ? { rule: result.rule } : { noRule: "no rule takes it; it goes to the alert's case" }),
    outcome: outcome.status,
    ...(outcome.reason !== undefined ? { reason: outcome.reason } : {}),
    actions: mine,
  };
  const withCase = (id: string | undefined, key: string | undefined): DeliveryEvent => ({ ...event, ...(id !== undefined ? { caseId: id } : {}), ...(key !== undefined ? { caseKey: key } : {}) });
  switch (outcome.status) {
    case 'created':
      return withCase(outcome.case.id, outcome.case.key);
    case 'updated':
    case 'deduplicated':
      return withCase(outcome.caseId, outcome.caseKey);
    case 'below_threshold':
      return event;
    case 'queued':
      // A resolve deferred behind a create runs no outbox: its own action.
      return mine.length > 0 ? event : { ...event, actions: [{ kind: outcome.reason === 'resolve_deferred' ? 'defer' : 'create', outcome: 'queued', retryInSeconds: outcome.retryInSeconds, reason: outcome.reason, at }] };
    case 'dead_lettered':
      return mine.length > 0 ? event : { ...event, actions: [{ kind: 'defer', outcome: 'dead_lettered', reason: outcome.reason, at }] };
  }
}

/** The journal record of a delivery once it is answered. */
export function recordOf(state: DeliveryState, answer: Answer, finishedAt: number, why: string | undefined, archive: { key: string; late?: boolean; waitMs?: number } | { error: string } | undefined): DeliveryRecord {
  // A group of hundreds of alerts: the record (and the trace and log line made from it) keeps what fits.
  return fitRecord(fullRecordOf(state, answer, finishedAt, why, archive));
}

function fullRecordOf(state: DeliveryState, answer: Answer, finishedAt: number, why: string | undefined, archive: { key: string; late?: boolean; waitMs?: number } | { error: string } | undefined): DeliveryRecord {
  const statusCode = answer.statusCode ?? 200;
  const code = answerCode(answer);
  const events = (state.results ?? []).map((r, i) => eventTrace(r, state.signals?.[i] ?? '', state.actions, finishedAt));
  const identities = [...new Set((state.results ?? []).map((r) => r.identity))];
  return {
    v: 1,
    id: state.id,
    source: state.source,
    ...(state.senderDeliveryId !== undefined ? { senderDeliveryId: state.senderDeliveryId } : {}),
    receivedAt: state.receivedAt,
    answer: { status: statusCode, code },
    status: deliveryStatus(statusCode, code, state.results),
    verified: state.verified,
    ...(why !== undefined ? { why } : {}),
    ...(state.results?.[0] !== undefined ? { eventType: state.results[0].type } : {}),
    identities,
    events,
    ...(archive !== undefined && 'key' in archive ? { archiveKey: archive.key } : {}),
    ...(archive !== undefined && 'error' in archive ? { archiveError: archive.error } : {}),
    ...(state.replay !== undefined ? { replayOf: state.replay.of } : {}),
    ...(archive !== undefined && 'late' in archive && archive.late === true ? { archiveError: `the put had not finished when the webhook was answered (after ${archive.waitMs ?? JOURNAL_WAIT_MS} ms); it may still have landed` } : {}),
    timings: { totalMs: Math.max(0, finishedAt - state.receivedAt), ...(state.workStart !== undefined ? { workMs: Math.max(0, (state.workEnd ?? finishedAt) - state.workStart) } : {}) },
    updatedAt: finishedAt,
  };
}

/** A header value: printable ASCII, anything else percent-encoded, at most 512 characters. */
function headerValue(text: string): string {
  return text.replace(/[^\x20-\x7e]/gu, (c) => encodeURIComponent(c)).slice(0, 512);
}

/**
 * The answer with the delivery's id and short trace: always in the headers `x-case-bridge-delivery`
 * and `x-case-bridge-trace`; in the JSON body too (`delivery`, `trace`) unless it is an error, whose
 * body keeps the documented `{error, message}` shape.
 */
export function withDelivery(answer: Answer, id: string, trace: string): Answer {
  const headers = { ...answer.headers, 'x-case-bridge-delivery': id, 'x-case-bridge-trace': headerValue(trace) };
  const body = typeof answer.body === 'string' && answer.body.startsWith('{') && answer.body.endsWith('}') ? answer.body : undefined;
  if (body === undefined || (answer.statusCode ?? 200) >= 400) return { ...answer, headers };
  const extra = `"delivery":${JSON.stringify(id)},"trace":${JSON.stringify(trace)}`;
  return { ...answer, headers, body: body === '{}' ? `{${extra}}` : `${body.slice(0, -1)},${extra}}` };
}
