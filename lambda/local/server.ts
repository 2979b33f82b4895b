import { readFileSync } from 'node:fs';
import { DEV_SECRETS_FILE, startLocalBridge } from './bridge.js';
import { validateRulesFile } from '../mapping/compile-rules.js';
import { parseRulesText, PRESET_RULES_FILE } from '../mapping/load-rules-file.js';
import { placeholderProjectWarning } from '../mapping/placeholder-project.js';
import { parseEnv } from '../shared/env.js';
import { BridgeError } from '../shared/errors.js';
import { parseSecretBag } from '../shared/secrets.js';

// `npm start`: the ingest handler behind a local HTTP server on 127.0.0.1, routed like API Gateway.
// npm start runs on the pinned Node 24, where the AWS SDK has no notice to print; started with an
// older node directly, its notice about Node 22 would bury the start-up lines.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

try {
  const env = parseEnv();
  const bridge = await startLocalBridge({ env, embeddedSqs: true, embeddedLedger: true });
  // With real keys, cases under the preset placeholder project would be refused by Datadog: say so now.
  const secretsFile = env.CASE_BRIDGE_SECRETS_FILE ?? DEV_SECRETS_FILE;
  const bag = parseSecretBag(readFileSync(secretsFile, 'utf8'), secretsFile);
  const rulesFile = env.CASE_BRIDGE_RULES ?? PRESET_RULES_FILE;
  const placeholder = !env.CASE_BRIDGE_DRY_RUN && bag['DD_API_KEY'] && bag['DD_APP_KEY'] ? placeholderProjectWarning(validateRulesFile(parseRulesText(readFileSync(rulesFile, 'utf8'), rulesFile), rulesFile), env.CASE_BRIDGE_RULES ?? 'config/rules.yaml') : undefined;
  const keys = process.env['CASE_BRIDGE_SECRETS_FILE'] ? `secrets from ${process.env['CASE_BRIDGE_SECRETS_FILE']}` : 'DEVELOPMENT secrets from config/dev-secrets.json (set CASE_BRIDGE_SECRETS_FILE for your own)';
  process.stderr.write(
    [
      '',
      `case-bridge listening on ${bridge.url}`,
      `  sources: ${[...bridge.rules.sources.keys()].map((s) => `POST ${bridge.url}/webhooks/${s}`).join('\n           ')}`,
      `  rules:   ${env.CASE_BRIDGE_RULES ?? 'config/rules.yaml (presets)'}`,
      `  secrets: ${keys}`,
      bridge.usingDevSecrets ? '  WARNING: using development secrets; never expose this server.' : '',
      placeholder ? `  WARNING: ${placeholder}` : '',
      `  Datadog: ${env.DD_API_URL ?? `https://api.${env.DD_SITE ?? 'datadoghq.com'}`} (dry run unless the secret has DD_API_KEY and DD_APP_KEY${env.CASE_BRIDGE_DRY_RUN ? '; CASE_BRIDGE_DRY_RUN is set' : ''})`,
      bridge.sqs ? `  retries: SQS emulator ${bridge.sqs.endpoint} (retry queue ${bridge.sqs.retryQueueUrl}, DLQ ${bridge.sqs.dlqUrl})` : '',
      bridge.sqs ? `  redrive: npm run redrive -- --copy --dlq-url ${bridge.sqs.dlqUrl} --destination-url ${bridge.sqs.retryQueueUrl}` : '',
      bridge.dynamo ? `  ledger:  DynamoDB emulator ${bridge.dynamo.endpoint} (table ${bridge.dynamo.tableName}; npm run cases -- <source> <identity> --endpoint ${bridge.dynamo.endpoint})` : '',
      '  try:     npm run send -- github issues.opened',
      '',
    ]
      .filter((l) => l !== '')
      .join('\n') + '\n',
  );
  const stop = () => void bridge.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (error) {
  process.stderr.write(`case-bridge failed to start: ${error instanceof BridgeError ? error.message : String(error)}\n`);
  process.exit(1);
}
