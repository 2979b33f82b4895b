import { readFileSync } from 'node:fs';
import { loadRulesFile, PRESET_RULES_FILE } from '../mapping/load-rules-file.js';
import { parseEnv } from '../shared/env.js';
import { BridgeError } from '../shared/errors.js';
import { parseSecretBag, secretValues } from '../shared/secrets.js';
import { isSourceName } from '../sources/index.js';
import { DEV_SECRETS_FILE } from './bridge.js';
import { readSample } from './samples.js';
import { signRequest } from './sign.js';

// `npm run send -- <source> <event|payload.json> [--url http://127.0.0.1:3000]`
// Signs a sample exactly as the real sender would and posts it to the local bridge.
const args = process.argv.slice(2);
const urlFlag = args.indexOf('--url');
const baseUrl = urlFlag >= 0 ? args.splice(urlFlag, 2)[1] : undefined;
const [source, event] = args;
try {
  if (!source || !event) throw new Error('usage: npm run send -- <source> <event|payload.json> [--url http://127.0.0.1:3000]');
  if (!isSourceName(source)) throw new Error(`unknown source "${source}"`);
  const env = parseEnv();
  const rules = loadRulesFile(env.CASE_BRIDGE_RULES ?? PRESET_RULES_FILE);
  const compiled = rules.sources.get(source);
  if (!compiled) throw new Error(`source "${source}" is not in the rules file`);
  const secretsFile = env.CASE_BRIDGE_SECRETS_FILE ?? DEV_SECRETS_FILE;
  const bag = parseSecretBag(readFileSync(secretsFile, 'utf8'), secretsFile);
  const [secret] = secretValues(bag, compiled.source.settings.secret);
  if (secret === undefined) throw new Error(`${secretsFile} has no ${compiled.source.settings.secret}`);
  const sample = readSample(source, event);
  const headers = signRequest({ source, settings: compiled.source.settings, secret, body: sample.body, headers: sample.headers });
  const target = `${baseUrl ?? `http://127.0.0.1:${env.PORT}`}/webhooks/${source}`;
  const response = await fetch(target, { method: 'POST', headers, body: sample.body });
  const text = await response.text();
  let pretty = text;
  try {
    pretty = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    // not JSON: print as is
  }
  process.stdout.write(`POST ${target} -> ${response.status}\n${pretty}\n`);
  process.exit(response.status >= 400 ? 1 : 0);
} catch (error) {
  const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
  process.stderr.write(`send failed: ${error instanceof BridgeError || error instanceof Error ? error.message : String(error)}${cause}\n`);
  process.exit(1);
}
