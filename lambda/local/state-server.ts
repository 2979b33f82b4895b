import { parseEnv } from '../shared/env.js';
import { BridgeError } from '../shared/errors.js';
import { startLocalState } from './state.js';

// `npm run state`: the bridge's ledger, retry queue and DLQ in their own process, kept on disk under
// .case-bridge/ (or CASE_BRIDGE_STATE_DIR). Prints ONE line on stdout: the JSON object to give
// `npm start` as CASE_BRIDGE_STATE. Everything else goes to stderr.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

try {
  const dir = parseEnv().CASE_BRIDGE_STATE_DIR;
  const running = await startLocalState(dir !== undefined ? { dir } : {});
  const line = JSON.stringify(running.state);
  process.stdout.write(`${line}\n`);
  process.stderr.write(
    [
      `case-bridge state kept in ${running.state.dir ?? ''} (ledger ${running.state.ledgerEndpoint}, queues ${running.state.sqsEndpoint})`,
      `  start the bridge on it:  CASE_BRIDGE_STATE='${line}' npm start`,
      '',
    ].join('\n'),
  );
  const stop = () => void running.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (error) {
  process.stderr.write(`case-bridge state failed to start: ${error instanceof BridgeError ? error.message : String(error)}\n`);
  process.exit(1);
}
