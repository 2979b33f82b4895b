import type { SQSEvent } from 'aws-lambda';
import type { DatadogClient } from '../../lambda/datadog/client.js';
import type { CaseCreateRequest } from '../../lambda/datadog/schema.js';
import { runNote } from '../../lambda/delivery/note.js';
import { RateBudget, type Pacer } from '../../lambda/delivery/rate-budget.js';
import { runLifecycle } from '../../lambda/delivery/run.js';
import { encodeQueuedMessage, QUEUED_MESSAGE_VERSION, type ActionQueue, type OutboxTrigger, type PendingAction } from '../../lambda/delivery/queue.js';
import type { DurableStep, StepHook } from '../../lambda/delivery/steps.js';
import { MemoryLedger } from '../../lambda/ledger/memory-ledger.js';
import { MemoryRateBudgetStore, type RateShape } from '../../lambda/ledger/rate-budget-store.js';
import type { Ledger } from '../../lambda/ledger/types.js';
import { resolvePolicy } from '../../lambda/lifecycle/policy.js';
import type { AlertWork } from '../../lambda/lifecycle/work.js';
import { INGEST_PACE_WAIT_MS } from '../../lambda/ingest/handler.js';
import { createRetryHandler } from '../../lambda/retry/handler.js';
import { DatadogError } from '../../lambda/shared/errors.js';
import { silentLogger } from '../../lambda/shared/log.js';
import { createSecretsProvider } from '../../lambda/shared/secrets.js';
import { fakeDatadog, type FakeDatadog } from './fakes.js';

/**
 * The crash model of the crash-point test (issue 13): a hook throws CrashError at the chosen step hit
 * and the invocation is fenced: its ledger, queue and Datadog reject every later call and touch no
 * state, so no catch block can write after the "death". Its answer is thrown away.
 */
export class CrashError extends Error {
  constructor() {
    super('crashed (test crash point)');
    this.name = 'CrashError';
  }
}

/** Visibility timeout of the retry queue (s): a record whose invocation died comes back after it. */
export const VISIBILITY_SECONDS = 361;
/** Receives before SQS moves a message to the DLQ. */
export const MAX_RECEIVES = 5;

interface Message {
  readonly id: number;
  readonly action: PendingAction;
  visibleAt: number;
  receives: number;
}

/** The retry queue and DLQ on the fake clock: delays, visibility timeout, receive count, redrive to the DLQ. */
export class FakeSqs {
  readonly messages: Message[] = [];
  readonly dlq: { readonly action: PendingAction; readonly reason: string }[] = [];
  private next = 0;

  constructor(private readonly clock: () => number) {}

  send(action: PendingAction, delaySeconds: number): void {
    this.messages.push({ id: (this.next += 1), action, visibleAt: this.clock() + delaySeconds * 1000, receives: 0 });
  }

  nextVisibleAt(): number | undefined {
    return this.messages.length === 0 ? undefined : Math.min(...this.messages.map((m) => m.visibleAt));
  }
}

/** One world: the ledger, SQS and Datadog of one run, on one fake clock. */
export interface World {
  readonly ledger: MemoryLedger;
  readonly sqs: FakeSqs;
  readonly dd: FakeDatadog;
  /** Datadog failures to answer next, per call, consumed in order. */
  readonly faults: Partial<Record<keyof DatadogClient, (() => DatadogError)[]>>;
  /** How long the next reads of a case's timeline take (ms on the world's clock), consumed in order. */
  readonly slowTimeline: number[];
  /** The shared rate budget every invocation asks (issue 15), when the path paces its calls (paced()). */
  pace?: Pacer;
  clock: number;
}

/**
 * Gives the world a shared rate budget of `shape` (the limit Datadog stated), with `booked` of the
 * current window's slots already taken (all of them by default: the next call gets a slot in a later
 * window, not close by).
 */
export async function paced(world: World, shape: RateShape, booked = shape.limit): Promise<void> {
  const store = new MemoryRateBudgetStore();
  await store.learn('cases_write', { shape });
  const pace = new RateBudget({ store });
  for (let i = 0; i < booked; i += 1) await pace.reserve('create', world.clock);
  world.pace = pace;
}

export const T0 = Date.parse('2026-03-01T10:00:00.000Z');

export function newWorld(): World {
  const own = fakeDatadog();
  const world: World & { wrapped?: DatadogClient } = { ledger: new MemoryLedger(), sqs: new FakeSqs(() => world.clock), dd: own, faults: {}, slowTimeline: [], clock: T0 };
  const faulty = <K extends 'createCase' | 'addComment' | 'setStatus' | 'linkSuccessor'>(name: K) =>
    (async (...args: unknown[]) => {
      const call = own[name] as (...a: unknown[]) => Promise<unknown>;
      const fault = world.faults[name]?.shift();
      if (fault !== undefined) {
        const error = fault();
        // An answer lost on the way back: Datadog made the change, the bridge never heard.
        if (error.ambiguous && error.status === 0) await call(...args);
        throw error;
      }
      return call(...args);
    }) as unknown as DatadogClient[K];
  world.wrapped = fakeDatadog({
    createCase: faulty('createCase'),
    addComment: faulty('addComment'),
    setStatus: faulty('setStatus'),
    linkSuccessor: faulty('linkSuccessor'),
    isSuccessorLinked: (...a) => own.isSuccessorLinked(...a),
    getCase: (...a) => own.getCase(...a),
    findCaseByMarker: (...a) => own.findCaseByMarker(...a),
    listComments: async (...a) => {
      world.clock += world.slowTimeline.shift() ?? 0;
      return own.listComments(...a);
    },
  });
  return world;
}

/** The Datadog a world's invocations talk to (with its faults). */
function datadogOf(world: World): DatadogClient {
  return (world as World & { wrapped: DatadogClient }).wrapped;
}

/** A fence: once `dead`, every call through it throws CrashError. */
interface Fence {
  dead: boolean;
}

function fenced<T extends object>(target: T, fence: Fence): T {
  return new Proxy(target, {
    get(t, prop, receiver) {
      const value: unknown = Reflect.get(t, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (fence.dead) return Promise.reject(new CrashError());
        return (value as (...a: unknown[]) => unknown).apply(t, args);
      };
    },
  });
}

function queueOf(world: World): ActionQueue {
  return {
    retry: async (action, { delaySeconds }) => world.sqs.send(action, delaySeconds),
    arm: async (trigger: OutboxTrigger, { delaySeconds }) => world.sqs.send(trigger, delaySeconds),
    deadLetter: async (action, { reason }) => {
      world.sqs.dlq.push({ action, reason });
    },
  };
}

/** Counts step hits over a whole run and crashes the invocation of the `crashAt`-th hit (1-based; 0: never). */
export class Crasher {
  hits = 0;
  readonly trace: DurableStep[] = [];
  crashed = false;

  constructor(private readonly crashAt: number) {}

  hook(fence: Fence): StepHook {
    return (step) => {
      this.hits += 1;
      this.trace.push(step);
      if (this.hits === this.crashAt) {
        this.crashed = true;
        fence.dead = true;
        throw new CrashError();
      }
    };
  }
}

function depsOf(world: World, fence: Fence, crasher: Crasher | undefined) {
  return {
    datadog: fenced(datadogOf(world), fence),
    keys: { get: async () => ({ apiKey: 'a', appKey: 'b' }), refresh: async () => ({ apiKey: 'a', appKey: 'b' }) },
    queue: fenced(queueOf(world), fence),
    ledger: fenced<Ledger>(world.ledger, fence),
    logger: silentLogger,
    now: () => world.clock,
    random: () => 0,
    steps: crasher?.hook(fence),
    // The budget's own store is not fenced: its bookings are no effect on a case (a slot booked and not used is only lost).
    pace: world.pace,
    // Waiting for a slot moves the world's clock (the ingest's wait; the retry function passes its own).
    paceWaitMs: INGEST_PACE_WAIT_MS,
    sleep: async (ms: number) => void (world.clock += Math.max(0, ms)),
  };
}

/** One ingest invocation of one event; the answer of a crashed one is lost. True when it answered. */
export async function ingest(world: World, work: AlertWork, crasher?: Crasher): Promise<boolean> {
  const fence: Fence = { dead: false };
  try {
    const stamped = { ...work, occurredAt: work.occurredAt ?? world.clock };
    const deps = depsOf(world, fence, crasher);
    // A human's note goes its own way (#17), as the ingest routes it under on_note: comment.
    if (stamped.note !== undefined) await runNote({ ...stamped, note: stamped.note }, deps);
    else await runLifecycle(stamped, deps);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs the retry function on every due message until the queue is empty (at most `rounds` turns),
 * moving the clock to the next visible message each turn. A record whose invocation failed or died
 * comes back after the visibility timeout; after MAX_RECEIVES it moves to the DLQ.
 */
export async function drain(world: World, crasher?: Crasher, rounds = 80): Promise<void> {
  for (let round = 0; round < rounds; round += 1) {
    const at = world.sqs.nextVisibleAt();
    if (at === undefined) return;
    world.clock = Math.max(world.clock, at);
    const due = world.sqs.messages.filter((m) => m.visibleAt <= world.clock);
    for (const m of due) {
      m.receives += 1;
      const fence: Fence = { dead: false };
      const deps = depsOf(world, fence, crasher);
      const handler = createRetryHandler({
        datadog: deps.datadog,
        secrets: createSecretsProvider({ load: async () => JSON.stringify({ DD_API_KEY: 'a', DD_APP_KEY: 'b' }), origin: 'test secret' }),
        ledger: deps.ledger,
        queue: deps.queue,
        logger: silentLogger,
        now: deps.now,
        random: deps.random,
        ...(deps.pace !== undefined ? { pace: deps.pace } : {}),
        sleep: deps.sleep,
        ...(deps.steps !== undefined ? { steps: deps.steps } : {}),
      });
      const body = encodeQueuedMessage({ v: QUEUED_MESSAGE_VERSION, disposition: 'retry', action: m.action, reason: 'test', enqueuedAt: world.clock });
      const event = { Records: [{ messageId: String(m.id), body, attributes: { ApproximateReceiveCount: String(m.receives) } }] } as unknown as SQSEvent;
      let failed: boolean;
      try {
        failed = (await handler(event)).batchItemFailures.length > 0 || fence.dead;
      } catch {
        failed = true;
      }
      if (!failed) {
        world.sqs.messages.splice(world.sqs.messages.indexOf(m), 1);
      } else if (m.receives >= MAX_RECEIVES) {
        world.sqs.messages.splice(world.sqs.messages.indexOf(m), 1);
        world.sqs.dlq.push({ action: m.action, reason: 'maxReceiveCount' });
      } else {
        m.visibleAt = world.clock + VISIBILITY_SECONDS * 1000;
      }
    }
  }
  throw new Error(`the retry queue did not drain in ${rounds} turns`);
}

/** What a run ends with, per case: status, comments in order and the cases it succeeds (by position); and whether anything was dead-lettered. */
export function snapshot(world: World): { readonly cases: { readonly status: string; readonly comments: readonly string[]; readonly succeeds: readonly number[] }[]; readonly dlq: number } {
  // Alertmanager sends no delivery id: the sender's retry of a firing counts one more occurrence (a documented limit).
  const comments = (c: { comments: readonly string[] }) => c.comments.map((t) => t.replace(/\(\d+ more times?/, '(n more times'));
  const position = (id: string) => world.dd.cases.findIndex((c) => c.id === id);
  const succeeds = (id: string) => world.dd.links.filter((l) => l.caseId === id).map((l) => position(l.previousCaseId));
  return { cases: world.dd.cases.map((c) => ({ status: c.status, comments: comments(c), succeeds: succeeds(c.id) })), dlq: world.sqs.dlq.length > 0 ? 1 : 0 };
}

const REQUEST: CaseCreateRequest = {
  data: { type: 'case', attributes: { title: '[Alertmanager] DiskFillingUp', type_id: 'type-1', description: 'disk' }, relationships: { project: { data: { id: 'p', type: 'project' } } } },
};

export const POLICY = resolvePolicy({});

/** An Alertmanager firing / resolve of the alert under test. */
export function firing(): AlertWork {
  return { source: 'alertmanager', identity: 'group/disk', rule: 'disk', signal: 'firing', deliveryId: undefined, request: REQUEST, summary: 'alert.firing', policy: POLICY };
}

export function resolved(): AlertWork {
  return { source: 'alertmanager', identity: 'group/disk', rule: undefined, signal: 'resolved', deliveryId: undefined, request: undefined, summary: 'alert.resolved', policy: POLICY };
}

/** A responder's note on the alert (#17): its own comment, once per note id. */
export function note(id: string): AlertWork {
  return { ...resolved(), signal: 'informational', summary: 'note', note: { id, text: `Note ${id}.`, author: 'Sam', link: 'https://pager.example/incidents/1' } };
}

export const rateLimited = (): DatadogError => new DatadogError('Datadog answered 429', { status: 429, retryable: true });
export const lostAnswer = (): DatadogError => new DatadogError('no response from Datadog (ECONNRESET)', { status: 0, retryable: true, ambiguous: true });
/** A request Datadog never acted on, but the bridge cannot tell (a gateway timeout): the comment must be checked, then sent. */
export const lostRequest = (): DatadogError => new DatadogError('Datadog answered 504 (gateway timeout)', { status: 504, retryable: true, ambiguous: true });
export const refused = (): DatadogError => new DatadogError('Datadog answered 400: bad request', { status: 400, retryable: false });
