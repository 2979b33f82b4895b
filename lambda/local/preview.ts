import { readFileSync } from 'node:fs';
import { loadRulesFile, PRESET_RULES_FILE } from '../mapping/load-rules-file.js';
import { mapEventToCase } from '../mapping/map-event.js';
import { parseJsonObject } from '../ingest/parse-body.js';
import { normalizeHeaders } from '../sources/crypto.js';
import { isSourceName } from '../sources/index.js';
import { BridgeError } from '../shared/errors.js';
import { readHeadersBeside } from './samples.js';

// `npm run preview -- <source> <payload.json> [headers.json]`: the CaseCreateRequest a payload
// gives under the current rules, or "no case" and why. No network, no signature check.
const [source, payloadPath, headersPath] = process.argv.slice(2);
try {
  if (!source || !payloadPath) throw new Error('usage: npm run preview -- <source> <payload.json> [headers.json]');
  if (!isSourceName(source)) throw new Error(`unknown source "${source}"`);
  const rulesFile = process.env['CASE_BRIDGE_RULES'] ?? PRESET_RULES_FILE;
  const rules = loadRulesFile(rulesFile);
  const compiled = rules.sources.get(source);
  if (!compiled) throw new Error(`source "${source}" is not in ${rulesFile}`);
  const headers = normalizeHeaders(headersPath ? (JSON.parse(readFileSync(headersPath, 'utf8')) as Record<string, string>) : readHeadersBeside(payloadPath));
  const body = parseJsonObject(readFileSync(payloadPath));
  for (const event of compiled.source.parse(body, headers)) {
    const head = `${source} ${event.type} (${event.signal}) identity=${event.identity}`;
    if (event.ping) {
      process.stdout.write(`${head}\nno case: a ping is answered 202\n`);
      continue;
    }
    const result = await mapEventToCase(compiled, event);
    if (result.outcome === 'case') {
      process.stdout.write(`${head}\nrule "${result.rule}" -> POST /api/v2/cases\n${JSON.stringify(result.request, null, 2)}\n`);
      for (const w of result.warnings) process.stdout.write(`warning: ${w}\n`);
    } else {
      process.stdout.write(`${head}\nno case: ${result.reason}\n`);
    }
  }
} catch (error) {
  process.stderr.write(`preview failed: ${error instanceof BridgeError || error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
