import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { CaseCreateRequest } from '../datadog/schema.js';
import type { LifecycleOutcome } from '../delivery/run.js';

export type Answer = APIGatewayProxyStructuredResultV2;

/**
 * The code (`status`, else `error`) of each answer reply() made, with the body it was read from: the
 * journal record and the delivery's status need it once the answer is made, and reading it back out
 * of the JSON just written cost a parse per webhook. Kept beside the body text, so an answer whose body
 * was changed since is read from its JSON again (answerCode).
 */
const CODES = new WeakMap<Answer, { readonly body: string; readonly code: string }>();

export function reply(statusCode: number, body: Record<string, unknown>): Answer {
  const text = JSON.stringify(body);
  const answer: Answer = { statusCode, headers: { 'content-type': 'application/json' }, body: text };
  const { status, error } = body;
  CODES.set(answer, { body: text, code: typeof status === 'string' ? status : typeof error === 'string' ? error : 'unknown' });
  return answer;
}

/** The code reply() read from this answer's body, while the body is still the one it wrote. */
export function replyCode(answer: Answer): string | undefined {
  const known = CODES.get(answer);
  return known !== undefined && known.body === answer.body ? known.code : undefined;
}

/** What became of one event of a webhook: the delivery outcome, or why nothing was delivered. */
export type EventResult =
  | { readonly status: 'delivered'; readonly identity: string; readonly dedupIdentity: string; readonly type: string; readonly rule: string | undefined; readonly outcome: LifecycleOutcome }
  | { readonly status: 'dry_run'; readonly identity: string; readonly type: string; readonly rule: string; readonly request: CaseCreateRequest; readonly warnings: readonly string[] }
  | { readonly status: 'ignored'; readonly identity: string; readonly type: string; readonly rule: string; readonly reason: string }
  | { readonly status: 'no_match'; readonly identity: string; readonly type: string; readonly reason: string };

/** One event's entry in the answer body. */
function entryOf(result: EventResult): Record<string, unknown> {
  const { identity, type } = result;
  switch (result.status) {
    case 'dry_run':
      return { identity, type, status: 'dry_run', rule: result.rule, request: result.request, warnings: result.warnings };
    case 'ignored':
      return { identity, type, status: 'ignored', reason: result.reason, rule: result.rule };
    case 'no_match':
      return { identity, type, status: 'no_match', reason: result.reason };
    case 'delivered':
      break;
  }
  const { rule, outcome } = result;
  switch (outcome.status) {
    case 'created':
      return { identity, type, status: 'created', rule, case: outcome.case };
    case 'queued':
      return { identity, type, status: 'queued', rule, reason: outcome.reason, retryInSeconds: outcome.retryInSeconds };
    case 'dead_lettered':
      return { identity, type, status: 'dead_lettered', rule, reason: outcome.reason };
    case 'updated':
    case 'deduplicated':
      // These name the alert by its dedup identity (the rule's `identity`, else the event's).
      return { identity: result.dedupIdentity, type, status: outcome.status, rule, reason: outcome.reason, caseId: outcome.caseId, caseKey: outcome.caseKey };
    case 'below_threshold':
      // Issue 17: no case yet; `occurrences` of the `openAfter` threshold count now.
      return { identity: result.dedupIdentity, type, status: 'below_threshold', rule, reason: outcome.reason, occurrences: outcome.occurrences, openAfter: outcome.openAfter };
  }
}

/**
 * The answer to a webhook whose events were handled: 201 when a case was created, else 202. One event:
 * its entry (a created case as `{ id, key }`); several: `results`, one entry per event.
 */
export function answerOf(results: readonly EventResult[], deliveryId: string | undefined): Answer {
  const created = (r: EventResult): boolean => r.status === 'delivered' && r.outcome.status === 'created';
  if (results.length === 1) {
    const only = results[0]!;
    if (only.status === 'delivered' && only.outcome.status === 'created') {
      const { id, key } = only.outcome.case;
      return reply(201, { status: 'created', deliveryId, rule: only.rule, identity: only.identity, case: { id, key } });
    }
    return reply(202, { deliveryId, ...entryOf(only) });
  }
  const any = results.some(created);
  return reply(any ? 201 : 202, { status: any ? 'created' : 'accepted', deliveryId, results: results.map(entryOf) });
}
