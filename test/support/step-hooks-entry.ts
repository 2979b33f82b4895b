// A probe for test/e2e/step-hooks-bundle.test.ts: one guarded hook call per durable step, written the way
// the delivery code writes them. Bundled with the Lambda options, none of them may survive.
import { STEP_HOOKS, step, type StepDeps } from '../../lambda/delivery/steps.js';

export async function runAllSteps(deps: StepDeps): Promise<string> {
  const at = { source: 'probe', identity: 'probe/1', actionId: 'cbu0' };
  if (STEP_HOOKS) await step(deps, 'watchdog.armed', at);
  if (STEP_HOOKS) await step(deps, 'transition.written', at);
  if (STEP_HOOKS) await step(deps, 'claim.written', at);
  if (STEP_HOOKS) await step(deps, 'datadog.acted', at);
  if (STEP_HOOKS) await step(deps, 'action.completed', at);
  if (STEP_HOOKS) await step(deps, 'retry.enqueued', at);
  if (STEP_HOOKS) await step(deps, 'failure.recorded', at);
  if (STEP_HOOKS) await step(deps, 'deadletter.sent', at);
  if (STEP_HOOKS) await step(deps, 'rearm.enqueued', at);
  if (STEP_HOOKS) await step(deps, 'threshold.counted', at);
  if (STEP_HOOKS) await step(deps, 'threshold.reset', at);
  return 'done';
}
