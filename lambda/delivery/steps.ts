/**
 * The durable steps of delivery, for the crash-point test (test-only hooks, never in the Lambda bundle).
 *
 * A durable step is a write whose effect survives the process: a ledger write, an SQS send, a Datadog
 * effect. Right after each one, the code calls
 *
 *   if (STEP_HOOKS) await step(deps, 'transition.written', at);
 *
 * The test passes a `steps` hook in the deps and stops the work at any step. The Lambda bundles are built
 * with `__CASE_BRIDGE_STEP_HOOKS__` defined `false` (lib/lambda-bundle.ts), so esbuild folds STEP_HOOKS to
 * false and drops every guarded call with its step name. The guard must stay at the call site: an
 * unguarded `step(...)` call would keep its name in the bundle (test/e2e/step-hooks-bundle.test.ts).
 */

/** Every durable step, in the order a first create meets most of them. */
export const DURABLE_STEPS = [
  'watchdog.armed',
  'transition.written',
  'claim.written',
  'datadog.acted',
  'action.completed',
  'retry.enqueued',
  'failure.recorded',
  'deadletter.sent',
  'rearm.enqueued',
  'threshold.counted',
  'threshold.reset',
] as const;
export type DurableStep = (typeof DURABLE_STEPS)[number];

/** Where a step happened: the alert, and the outbox action when the step is about one. */
export interface StepPoint {
  readonly source: string;
  readonly identity: string;
  readonly actionId?: string;
}

/** Called right after a durable step; a test hook may throw to stop the work there. */
export type StepHook = (step: DurableStep, at: StepPoint) => void | Promise<void>;

/** Deps that may carry a hook (the Lambda entries never pass one). */
export interface StepDeps {
  readonly steps?: StepHook | undefined;
}

declare const __CASE_BRIDGE_STEP_HOOKS__: boolean | undefined;

/** False in the Lambda bundles (a build-time constant there); true everywhere else (tests, `npm start`). */
export const STEP_HOOKS: boolean = typeof __CASE_BRIDGE_STEP_HOOKS__ === 'undefined' || __CASE_BRIDGE_STEP_HOOKS__;

/**
 * Reports step `name` to the deps' hook, if any. Call it only under `if (STEP_HOOKS)`: in a Lambda bundle
 * every such call is then dropped and this function with it (its message below is how the bundle test
 * knows that no hook call is left).
 */
export async function step(deps: StepDeps, name: DurableStep, at: StepPoint): Promise<void> {
  const hook = deps.steps;
  if (!STEP_HOOKS || hook === undefined) return;
  if (typeof hook !== 'function') throw new TypeError('case-bridge step hook: deps.steps is not a function');
  await hook(name, at);
}
