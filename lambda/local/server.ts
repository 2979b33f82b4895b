import { readFileSync } from 'node:fs';
import { DEV_SECRETS_FILE, LOCAL_DELIVERIES_ROUTE, startLocalBridge } from './bridge.js';
import { LOCAL_CASES_ROUTE, type DatadogTarget } from './case-management.js';
import { validateRulesFile } from '../mapping/compile-rules.js';
import { parseRulesText, PRESET_RULES_FILE } from '../mapping/load-rules-file.js';
import { placeholderProjectWarning } from '../mapping/placeholder-project.js';
import { parseEnv } from '../shared/env.js';
import { BridgeError } from '../shared/errors.js';
import { parseSecretBag } from '../shared/secrets.js';
import { parseLocalState } from './state.js';

// `npm start`: the ingest handler behind a local HTTP server on 127.0.0.1, routed like API Gateway.
// No AWS SDK notice about Node versions among the start-up lines (npm scripts run on the pinned Node 24;
// fauxqs 2 needs Node 22.5 or newer for node:sqlite).
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

/** The banner's lines on which Datadog the bridge sends to. */
function datadogLines(target: DatadogTarget, bridgeUrl: string): string[] {
  switch (target.kind) {
    case 'local':
      return [
        `  Datadog: LOCAL Case Management ${target.url} (the secret has no DD_API_KEY and DD_APP_KEY; CASE_BRIDGE_DRY_RUN=true for a dry run)`,
        target.file !== undefined ? `  cases:   kept in ${target.file}; list them: npm run cases (or GET ${bridgeUrl}${LOCAL_CASES_ROUTE})` : `  cases:   IN MEMORY (kept with npm run state); list them: npm run cases (or GET ${bridgeUrl}${LOCAL_CASES_ROUTE})`,
      ];
    case 'datadog':
      return [`  Datadog: ${target.url} (keys from the secret)`];
    case 'dry_run':
      return [`  Datadog: none, DRY RUN (${target.reason}): each answer carries the request it would send`];
  }
}

try {
  const env = parseEnv();
  const state = env.CASE_BRIDGE_STATE !== undefined ? parseLocalState(env.CASE_BRIDGE_STATE) : undefined;
  const bridge = await startLocalBridge({ env, embeddedSqs: true, embeddedLedger: true, embeddedDatadog: true, ...(state !== undefined ? { state } : {}) });
  // With real keys, cases under the preset placeholder project would be refused by Datadog: say so now.
  const secretsFile = env.CASE_BRIDGE_SECRETS_FILE ?? DEV_SECRETS_FILE;
  const bag = await parseSecretBag(readFileSync(secretsFile, 'utf8'), secretsFile);
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
      ...bridge.missingSecrets.map(({ source, key }) => `  WARNING: source ${source} has no secret: add "${key}" to ${process.env['CASE_BRIDGE_SECRETS_FILE'] ?? 'config/dev-secrets.json'}; until then its webhooks are answered 500 not_configured.`),
      ...datadogLines(bridge.datadogTarget, bridge.url),
      bridge.persistent
        ? `  state:   ledger and queues in npm run state (${state?.dir ?? state?.ledgerEndpoint}): they survive a restart of npm start`
        : '  state:   ledger and queues IN MEMORY: lost when npm start stops; keep them on disk with npm run state (README, Running locally)',
      bridge.sqs ? `  retries: SQS emulator ${bridge.sqs.endpoint} (retry queue ${bridge.sqs.retryQueueUrl}, DLQ ${bridge.sqs.dlqUrl})` : '',
      bridge.sqs ? `  redrive: npm run redrive -- --copy --dlq-url ${bridge.sqs.dlqUrl} --destination-url ${bridge.sqs.retryQueueUrl}` : '',
      bridge.dynamo ? `  ledger:  DynamoDB emulator ${bridge.dynamo.endpoint} (table ${bridge.dynamo.tableName}; npm run cases -- <source> <identity> --endpoint ${bridge.dynamo.endpoint})` : '',
      `  journal: every delivery with its trace: npm run deliveries (one: npm run deliveries -- <delivery>; GET ${bridge.url}${LOCAL_DELIVERIES_ROUTE})`,
      `  console: ${bridge.url}/  (open it: deliveries with their traces, the cases, the dead-letter queue with replay, a form to send samples; replay: npm run replay)`,
      `  health:  GET ${bridge.url}/health`,
      bridge.datadogTarget.kind === 'local' ? '  try:     npm run send -- alertmanager firing   (again: deduplicated; alertmanager resolved: closed; firing again: reopened)' : '  try:     npm run send -- github issues.opened',
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
