/**
 * Crash-point hooks (issue 13): a test-only hook called right after each durable step of the
 * delivery code (a ledger write, an SQS send, a Datadog effect). The crash-point test throws at each
 * hit in turn and checks that whoever comes next finishes the work. The Lambda bundle defines
 * __CASE_BRIDGE_STEP_HOOKS__ as false, so the calls are dropped from it.
 */
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
] as const;
export type DurableStep = (typeof DURABLE_STEPS)[number];
export type StepHook = (step: DurableStep, at: { readonly source: string; readonly identity: string; readonly actionId?: string }) => void | Promise<void>;
declare const __CASE_BRIDGE_STEP_HOOKS__: boolean | undefined;
export const STEP_HOOKS = typeof __CASE_BRIDGE_STEP_HOOKS__ === 'undefined' || __CASE_BRIDGE_STEP_HOOKS__;
