import { MAX_FOLLOW_UPS, type DeliveryAction, type DeliveryRecord, type DeliveryStatus } from './types.js';

/**
 * The short trace of a delivery: what the answer's `trace` and its log line say, e.g.
 * `verified; rule "alert group firing"; create: created DDFC-1` or `rejected: signature does not match`.
 */
export function shortTrace(record: DeliveryRecord): string {
  const parts: string[] = [];
  if (!record.verified) return `${record.status}${record.why !== undefined ? `: ${record.why}` : ''}`;
  parts.push('verified');
  for (const e of record.events) {
    const rule = e.rule !== undefined ? `rule "${e.rule}"` : e.noRule !== undefined ? `no rule (${e.noRule})` : 'no rule';
    const target = e.caseKey ?? e.caseId;
    // A create done is the outcome itself; every other action is told.
    const actions = e.actions.filter((a) => !(a.kind === 'create' && a.outcome === 'done')).map(actionText);
    const what = `${e.outcome}${target !== undefined ? ` ${target}` : ''}${e.reason !== undefined && e.reason !== e.outcome ? ` (${e.reason})` : ''}${actions.length > 0 ? `: ${actions.join(', ')}` : ''}`;
    parts.push(`${record.events.length > 1 ? `${e.identity}: ` : ''}${rule}; ${what}`);
  }
  // No event to tell (a ping, an SNS subscription, a duplicate, a refusal after verifying): the answer.
  if (record.events.length === 0) parts.push(record.status === 'handled' ? record.answer.code : record.status + (record.why !== undefined ? `: ${record.why}` : ''));
  if (record.omitted?.events !== undefined) parts.push(`${record.omitted.events} more events not journaled`);
  for (const f of record.followUps ?? []) parts.push(`later ${actionText(f)}`);
  if (record.omitted?.followUps !== undefined) parts.push(`${record.omitted.followUps} more later actions not journaled`);
  return parts.join('; ');
}

function actionText(a: DeliveryAction): string {
  const what = a.purpose ?? a.kind;
  const target = a.caseKey ?? a.caseId;
  switch (a.outcome) {
    case 'done':
      return `${what} done${a.later === true && target !== undefined ? ` ${target}` : ''}${a.detail !== undefined && a.kind === 'status' ? ` (${a.detail})` : ''}`;
    case 'queued':
      return `${what} queued${a.retryInSeconds !== undefined ? ` ${a.retryInSeconds} s` : ''}${a.reason !== undefined ? ` (${a.reason})` : ''}`;
    case 'dead_lettered':
      return `${what} dead-lettered${a.reason !== undefined ? `: ${a.reason}` : ''}`;
    case 'pending':
      return `${what} pending`;
    case 'dropped':
      return `${what} dropped${a.reason !== undefined ? `: ${a.reason}` : ''}`;
  }
}

/** The status a delivery has once `action` (finished later) is counted. */
function statusAfter(status: DeliveryStatus, action: DeliveryAction): DeliveryStatus {
  if (action.outcome === 'dead_lettered') return 'dead_lettered';
  if (status !== 'queued' || action.outcome !== 'done') return status;
  return action.kind === 'create' ? 'created' : 'updated';
}

/**
 * A record with an action of its delivery that finished later (the retry function, or a later
 * delivery of the same alert, worked it). Without a record yet (the ingest's write has not landed),
 * a placeholder the ingest's write merges into (`mergeIngestRecord`).
 */
export function withFollowUp(current: DeliveryRecord | undefined, id: string, source: string, action: DeliveryAction, receivedAt: number): DeliveryRecord {
  const base: DeliveryRecord = current ?? {
    v: 1,
    id,
    source,
    receivedAt,
    answer: { status: 0, code: 'pending' },
    status: 'queued',
    verified: true,
    identities: [],
    events: [],
    timings: { totalMs: 0 },
    updatedAt: action.at,
  };
  const status = statusAfter(base.status, action);
  // A delivery of many alerts gets a follow-up per action: the first MAX_FOLLOW_UPS are kept, the rest counted.
  if ((base.followUps ?? []).length >= MAX_FOLLOW_UPS) return { ...base, omitted: { ...base.omitted, followUps: (base.omitted?.followUps ?? 0) + 1 }, status, updatedAt: action.at };
  const followUps = [...(base.followUps ?? []), { ...action, later: true }];
  return { ...base, followUps, status, updatedAt: action.at };
}

/** The ingest's record over whatever is stored already: follow-ups written first are kept and counted. */
export function mergeIngestRecord(current: DeliveryRecord | undefined, fresh: DeliveryRecord): DeliveryRecord {
  const followUps = current?.followUps ?? [];
  if (followUps.length === 0) return fresh;
  const omittedFollowUps = current?.omitted?.followUps;
  return { ...fresh, followUps, ...(omittedFollowUps !== undefined ? { omitted: { ...fresh.omitted, followUps: omittedFollowUps } } : {}), status: followUps.reduce(statusAfter, fresh.status) };
}
