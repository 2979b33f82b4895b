import { caseSchemas } from '../datadog/schema.js';
import { lifecycleSchemas } from '../lifecycle/policy.js';
import { SIGNALS } from '../sources/types.js';
import { SOURCE_NAMES } from '../sources/index.js';
import { isoTime } from '../shared/time.js';
import * as z from '../shared/zod.js';

/**
 * The queue message contract: the body of every message on the retry queue and the DLQ, as ONE zod
 * schema; the types below are inferred from it. Deployed queues hold messages written by earlier
 * versions: a field added later is optional, so that those still parse.
 */

/** Version of the message body; a reader refuses versions it does not know. */
export const QUEUED_MESSAGE_VERSION = 1;

/**
 * Where the message was headed when it was written: `retry` (the retry queue) or `dead_letter` (sent to
 * the DLQ by the bridge). A `dead_letter` message read by the retry handler was redriven by an operator.
 */
export const DISPOSITIONS = ['retry', 'dead_letter'] as const;
export type Disposition = (typeof DISPOSITIONS)[number];

/** The schemas, built on first use: the ingest function only writes messages (about 1 ms of cold
 * start, and they pull in the Datadog request schema). */
const schemas = z.lazily(() => {
  const NonEmpty = z.string().check(z.minLength(1));
  const Attempt = z.number().check(z.int(), z.minimum(0));
  /** A time: ISO 8601 in the message, ms since the epoch in memory (as everywhere in the bridge). */
  const Time = z.pipe(
    z.string().check(z.refine((iso) => Number.isFinite(Date.parse(iso)), 'must be an ISO 8601 time')),
    z.transform((iso) => Date.parse(iso)),
  );

  /** Fields every queued action has. */
  const base = {
    source: z.enum(SOURCE_NAMES),
    deliveryId: z.optional(z.string()),
    /** The delivery's journal record (issue 16). */
    journalId: z.optional(z.string()),
    /** Dedup identity of the alert. */
    identity: NonEmpty,
    /** The rule that matched; none: undefined in memory, '' in the message (as every version wrote it). */
    rule: z.pipe(z.string(), z.transform((rule): string | undefined => (rule === '' ? undefined : rule))),
    /** Attempts that failed for a reason other than a rate limit (deferrals, for a lifecycle event). */
    attempt: Attempt,
    /** When the webhook was first accepted. */
    firstSeen: Time,
    /** The rate-budget slot this action holds (issue 15): it is sent at this time, not before. */
    slotAt: z.optional(Time),
  };

  /** Everything needed to create the case later, without the original webhook being sent again. */
  const createCase = z.strictObject({
    kind: z.literal('create_case'),
    ...base,
    request: caseSchemas().CaseCreateRequest,
    // Issue 4; optional so that messages written before them still parse.
    /** The ledger's create intent: a retried create goes ahead only while the entry is still `creating` with this id. */
    intentId: z.optional(z.string()),
    /** The dedup marker the request carries (already in its description). */
    marker: z.optional(z.string()),
    /** The last attempt's outcome is unknown (timeout, reset, 5xx): look the case up by marker before creating again. */
    ambiguous: z.optional(z.boolean()),
    /**
     * When the create whose outcome is unknown was sent. Datadog's search lags its writes:
     * until MARKER_SEARCH_SETTLE_SECONDS after this, a lookup that finds nothing is not proof that no
     * case was made, so the create waits in the retry queue instead of being sent again.
     */
    ambiguousAt: z.optional(Time),
  });

  /** A comment on an existing case (repeat, resolve, reopen), retried on 429/5xx like a create. */
  const comment = z.strictObject({
    kind: z.literal('comment'),
    ...base,
    caseId: NonEmpty,
    text: NonEmpty,
    /** Firing occurrences the text reports (merged comments add theirs up). */
    occurrences: z.optional(Attempt),
  });

  /** A status change of an existing case (close / reopen). */
  const setStatus = z.strictObject({
    kind: z.literal('set_status'),
    ...base,
    caseId: NonEmpty,
    status: NonEmpty,
  });

  /**
   * An alert event the lifecycle could not apply yet: a resolve that arrived while the alert's case
   * was still being created (decision `defer`). The retry function runs the lifecycle for it again
   * once the delay is over; `attempt` counts the deferrals. It carries the resolved policy, so the
   * retry function needs no rules file.
   */
  const lifecycleEvent = z.strictObject({
    kind: z.literal('lifecycle_event'),
    ...base,
    signal: z.enum(SIGNALS),
    /**
     * The event's time, which orders it against the alert's other events (the time a resolve comment
     * reports): the sender's own, capped, else the receive time. Messages written before #13 carry the
     * receive time here (as `firstSeen`): they still parse, and are ordered by it.
     */
    occurredAt: Time,
    /** Names the event in comments when there is no request (e.g. `incident.resolved`). */
    summary: z.string(),
    /** The rule's create request, when a rule matched the event (its title is quoted in comments). */
    request: z.optional(caseSchemas().CaseCreateRequest),
    /** The lifecycle policy that applied at ingest (defaults, file, source and rule layers resolved). */
    policy: lifecycleSchemas().policy,
  });

  /**
   * Issue 13: a trigger, not work. "Look at this alert's outbox": the watchdog armed before every
   * transition that owes Datadog effects, and the re-arm of work that waits (rate limit, search
   * settle, a live claim). The work itself is on the ledger entry.
   */
  const outbox = z.strictObject({
    kind: z.literal('outbox'),
    ...base,
  });

  const action = z.discriminatedUnion('kind', [createCase, comment, setStatus, lifecycleEvent, outbox]);

  const message = z.strictObject({
    v: z.literal(QUEUED_MESSAGE_VERSION),
    disposition: z.enum(DISPOSITIONS),
    action,
    /** Why the action was queued (the Datadog answer). */
    reason: z.string(),
    /** When this message was written. */
    enqueuedAt: Time,
  });
  return { message };
});

/** The body of every message on the retry queue and the DLQ: everything needed to finish the work. */
export type QueuedMessage = Readonly<z.infer<ReturnType<typeof schemas>['message']>>;
/** Anything the retry queue carries. */
export type PendingAction = Readonly<QueuedMessage['action']>;
export type PendingCase = Extract<PendingAction, { readonly kind: 'create_case' }>;
export type PendingComment = Extract<PendingAction, { readonly kind: 'comment' }>;
export type PendingStatus = Extract<PendingAction, { readonly kind: 'set_status' }>;
export type PendingEvent = Extract<PendingAction, { readonly kind: 'lifecycle_event' }>;
export type OutboxTrigger = Extract<PendingAction, { readonly kind: 'outbox' }>;

/** The reason an `outbox` trigger carries. */
export const WATCHDOG_REASON = "watchdog: finish the alert's pending Datadog work";

/** The trigger message of an alert's outbox. */
export function outboxTrigger(source: OutboxTrigger['source'], identity: string, now: number, deliveryId?: string): OutboxTrigger {
  return deliveryId === undefined ? { kind: 'outbox', source, identity, rule: undefined, attempt: 0, firstSeen: now } : { kind: 'outbox', source, identity, deliveryId, rule: undefined, attempt: 0, firstSeen: now };
}

export type ReadResult = { readonly ok: true; readonly message: QueuedMessage } | { readonly ok: false; readonly reason: string };

/** Parses a message body (written by SqsActionQueue, today's or an earlier version). Never throws. */
export function readQueuedMessage(body: string): ReadResult {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    return { ok: false, reason: `body is not JSON: ${(error as Error).message}` };
  }
  const parsed = schemas().message.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
    return { ok: false, reason: `body is not a v${QUEUED_MESSAGE_VERSION} queued case: ${issues.join('; ')}` };
  }
  return { ok: true, message: parsed.data };
}

/** The message body: "no rule" as '' and times as ISO 8601, as every version wrote them. */
export function encodeQueuedMessage(message: QueuedMessage): string {
  const a = message.action;
  const action: Record<string, unknown> = { ...a, rule: a.rule ?? '', firstSeen: isoTime(a.firstSeen) };
  if (a.kind === 'create_case' && a.ambiguousAt !== undefined) action['ambiguousAt'] = isoTime(a.ambiguousAt);
  if (a.slotAt !== undefined) action['slotAt'] = isoTime(a.slotAt);
  if (a.kind === 'lifecycle_event') action['occurredAt'] = isoTime(a.occurredAt);
  return JSON.stringify({ ...message, action, enqueuedAt: isoTime(message.enqueuedAt) });
}

/**
 * Where work goes that could not finish now. The SQS retry queue and DLQ implement it in AWS;
 * tests and the local bridge use MemoryActionQueue until the SQS emulator is wired in.
 */
export interface ActionQueue {
  /** Try again after `delaySeconds`. Throws when the action could not be stored. */
  retry(action: PendingAction, options: { delaySeconds: number; reason: string }): Promise<void>;
  /** Give up until an operator fixes the cause and redrives. Throws when it could not be stored. */
  deadLetter(action: PendingAction, options: { reason: string }): Promise<void>;
  /**
   * Arms a watchdog (issue 13): an `outbox` trigger on the retry queue after `delaySeconds`, sent
   * before a transition that owes Datadog effects. Throws when it could not be stored.
   */
  arm(trigger: OutboxTrigger, options: { delaySeconds: number; reason: string }): Promise<void>;
}

export class MemoryActionQueue implements ActionQueue {
  readonly retries: { action: PendingAction; delaySeconds: number; reason: string }[] = [];
  readonly deadLetters: { action: PendingAction; reason: string }[] = [];

  async retry(action: PendingAction, options: { delaySeconds: number; reason: string }): Promise<void> {
    this.retries.push({ action, ...options });
  }

  async deadLetter(action: PendingAction, options: { reason: string }): Promise<void> {
    this.deadLetters.push({ action, ...options });
  }

  /** Watchdogs and re-arms: kept apart from `retries`, which hold work. */
  readonly armed: { trigger: OutboxTrigger; delaySeconds: number; reason: string }[] = [];

  async arm(trigger: OutboxTrigger, options: { delaySeconds: number; reason: string }): Promise<void> {
    this.armed.push({ trigger, ...options });
  }
}
