import { parseArgs } from 'node:util';
import { PRESET_RULES_FILE } from '../mapping/load-rules-file.js';
import { parseEnv } from '../shared/env.js';
import { DEV_SECRETS_FILE } from './bridge.js';
import { sendSample } from './send-sample.js';

// `npm run send -- <source> <event|payload.json> [--url http://127.0.0.1:3000]`
// Signs a sample exactly as the real sender would and posts it to the local bridge.
const USAGE = `usage: npm run send -- <source> <event|payload.json> [--url http://127.0.0.1:3000]

Signs a sample webhook with the secret, exactly as the sender would, and posts it to the bridge.

  <event>   a file stem in test/fixtures/<source>/ (e.g. github issues.opened), dated now as its
            sender would date a new event; or a payload file, sent as it is (its headers from
            <payload>.headers.json beside it)
  --url     the bridge (default http://127.0.0.1:$PORT, 3000); a deployed one: WebhookBaseUrl
            without /webhooks
  secret    $CASE_BRIDGE_SECRETS_FILE, else config/dev-secrets.json; rules: $CASE_BRIDGE_RULES`;

try {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { url: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const [source, event] = positionals;
  const baseUrl = values.url;
  if (!source || !event || positionals.length > 2) throw new Error(USAGE);
  const env = parseEnv();
  const result = await sendSample({
    source,
    event,
    baseUrl: baseUrl ?? `http://127.0.0.1:${env.PORT}`,
    rulesFile: env.CASE_BRIDGE_RULES ?? PRESET_RULES_FILE,
    secretsFile: env.CASE_BRIDGE_SECRETS_FILE ?? DEV_SECRETS_FILE,
  });
  let pretty = result.text;
  try {
    pretty = JSON.stringify(JSON.parse(result.text), null, 2);
  } catch {
    // not JSON: print as is
  }
  process.stdout.write(`POST ${result.url} -> ${result.status}\n${pretty}\n`);
  process.exit(result.status >= 400 ? 1 : 0);
} catch (error) {
  const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
  process.stderr.write(`send failed: ${error instanceof Error ? error.message : String(error)}${cause}\n`);
  if (error instanceof TypeError && /fetch failed/.test(error.message)) process.stderr.write('is the bridge running? start it with `npm start`\n');
  process.exit(1);
}
