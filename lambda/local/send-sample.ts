import { readFileSync } from 'node:fs';
import type { CompiledRules } from '../mapping/compile-rules.js';
import { loadRulesFile } from '../mapping/load-rules-file.js';
import { parseSecretBag, secretValues, type SecretBag } from '../shared/secrets.js';
import { isSourceName } from '../sources/index.js';
import { datedSample, readSample } from './samples.js';
import { signRequest } from './sign.js';

export interface SentSample {
  readonly url: string;
  readonly status: number;
  readonly text: string;
}

/** Signs a sample with the source's secret from `bag`, exactly as the real sender would, and posts it (`npm run send`, the console's form). */
export async function signAndSendSample(options: { source: string; event: string; baseUrl: string; rules: CompiledRules; bag: SecretBag; origin: string; secretOrigin: string; now?: number }): Promise<SentSample> {
  const { source } = options;
  if (!isSourceName(source)) throw new Error(`unknown source "${source}"`);
  const compiled = options.rules.sources.get(source);
  if (!compiled) throw new Error(`source "${source}" is not in ${options.origin}`);
  const key = compiled.source.settings.secret;
  if (key === undefined) throw new Error(`${source} messages are signed by AWS (SNS), not with a secret of ours: npm run send cannot sign them; try npm run preview -- ${source} <payload.json>`);
  const [secret] = secretValues(options.bag, key);
  if (secret === undefined) throw new Error(`${options.secretOrigin} has no ${key}`);
  // A bundled sample is dated now, as its sender would date a new event; a payload file is sent as it is.
  const read = readSample(source, options.event);
  const { body, headers: unsigned } = options.event.endsWith('.json') ? read : datedSample(source, read, options.now ?? Date.now());
  const headers = signRequest({ source, settings: compiled.source.settings, secret, body, headers: unsigned });
  const url = `${options.baseUrl}/webhooks/${source}`;
  const response = await fetch(url, { method: 'POST', headers, body });
  return { url, status: response.status, text: await response.text() };
}

/** What `npm run send` does: sign a sample exactly as the real sender would and post it. */
export async function sendSample(options: {
  source: string;
  /** A file stem in test/fixtures/<source>/ or a path to a JSON payload. */
  event: string;
  baseUrl: string;
  rulesFile: string;
  secretsFile: string;
  /** The time a bundled sample is dated (ms). @default now */
  now?: number;
}): Promise<SentSample> {
  if (!isSourceName(options.source)) throw new Error(`unknown source "${options.source}"`);
  const rules = loadRulesFile(options.rulesFile);
  const bag = await parseSecretBag(readFileSync(options.secretsFile, 'utf8'), options.secretsFile);
  return signAndSendSample({ source: options.source, event: options.event, baseUrl: options.baseUrl, rules, bag, origin: options.rulesFile, secretOrigin: options.secretsFile, ...(options.now !== undefined ? { now: options.now } : {}) });
}
