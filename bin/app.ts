import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { fileURLToPath } from 'node:url';
import { stackFromContext, synthErrorText } from '../lib/app-context.js';
import { BridgeStack } from '../lib/bridge-stack.js';

// Context (cdk.json or `-c key=value`): see lib/app-context.ts and README.md, Deploying.
const app = new App();
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

try {
  const { stackName, props } = stackFromContext((key) => app.node.tryGetContext(key), fileURLToPath(new URL('../config/rules.yaml', import.meta.url)));
  new BridgeStack(app, stackName, props);
} catch (error) {
  const text = synthErrorText(error);
  if (text === undefined) throw error;
  process.stderr.write(text);
  process.exit(1);
}
