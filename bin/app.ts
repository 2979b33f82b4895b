import { App } from 'aws-cdk-lib';
import { fileURLToPath } from 'node:url';
import { BridgeStack } from '../lib/bridge-stack.js';

// Context (cdk.json or -c): rulesFile, secretName, datadogSite.
const app = new App();
const context = (key: string): string | undefined => {
  const v: unknown = app.node.tryGetContext(key);
  return typeof v === 'string' && v !== '' ? v : undefined;
};
const secretName = context('secretName');
const datadogSite = context('datadogSite');
new BridgeStack(app, context('stackName') ?? 'CaseBridge', {
  rulesFile: context('rulesFile') ?? fileURLToPath(new URL('../config/rules.yaml', import.meta.url)),
  ...(secretName ? { secretName } : {}),
  ...(datadogSite ? { datadogSite } : {}),
  description: 'case-bridge: alert webhooks to Datadog Case Management',
});
