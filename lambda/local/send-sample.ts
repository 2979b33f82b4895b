import { readFileSync } from 'node:fs';
import { loadRulesFile } from '../mapping/load-rules-file.js';
import { parseSecretBag, secretValues } from '../shared/secrets.js';
import { isSourceName } from '../sources/index.js';
import { datedSample, readSample } from './samples.js';
import { signRequest } from './sign.js';

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
}): Promise<{ url: string; status: number; text: string }> {
  const { source } = options;
  if (!isSourceName(source)) throw new Error(`unknown source "${source}"`);
  const compiled = loadRulesFile(options.rulesFile).sources.get(source);
  if (!compiled) throw new Error(`source "${source}" is not in ${options.rulesFile}`);
  const bag = await parseSecretBag(readFileSync(options.secretsFile, 'utf8'), options.secretsFile);
  const key = compiled.source.settings.secret;
  if (key === undefined) throw new Error(`${source} messages are signed by AWS (SNS), not with a secret of ours: npm run send cannot sign them; try npm run preview -- ${source} <payload.json>`);
  const [secret] = secretValues(bag, key);
  if (secret === undefined) throw new Error(`${options.secretsFile} has no ${key}`);
  // A bundled sample is dated now, as its sender would date a new event; a payload file is sent as it is.
  const read = readSample(source, options.event);
  const { body, headers: unsigned } = options.event.endsWith('.json') ? read : datedSample(source, read, options.now ?? Date.now());
  const headers = signRequest({ source, settings: compiled.source.settings, secret, body, headers: unsigned });
  const url = `${options.baseUrl}/webhooks/${source}`;
  const response = await fetch(url, { method: 'POST', headers, body });
  return { url, status: response.status, text: await response.text() };
}
