import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadRulesFile, PRESET_RULES_FILE } from '../mapping/load-rules-file.js';
import { mapEventToCase } from '../mapping/map-event.js';
import { parseJsonObject } from '../ingest/parse-body.js';
import { normalizeHeaders } from '../sources/crypto.js';
import { isSourceName, SOURCE_NAMES } from '../sources/index.js';
import { PayloadError } from '../shared/errors.js';
import { headersPathBeside } from './samples.js';

// `npm run preview -- <source> <payload.json> [headers.json]`: the CaseCreateRequest a payload
// gives under the current rules, or "no case" and why. No network, no signature check.
const USAGE = `usage: npm run preview -- <source> <payload.json> [headers.json]

Prints the CaseCreateRequest a payload gives under the rules (or "no case" and why); no network, no
signature check.

  <source>      ${SOURCE_NAMES.join(', ')}
  headers.json  the request headers the sender sets (a JSON object); default <payload>.headers.json
  rules         $CASE_BRIDGE_RULES, else config/rules.yaml`;

try {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const [source, payloadPath, headersPath] = positionals;
  if (!source || !payloadPath || positionals.length > 3) throw new Error(USAGE);
  if (!isSourceName(source)) throw new Error(`unknown source "${source}"; one of ${SOURCE_NAMES.join(', ')}`);
  const rulesFile = process.env['CASE_BRIDGE_RULES'] ?? PRESET_RULES_FILE;
  const rules = loadRulesFile(rulesFile);
  const compiled = rules.sources.get(source);
  if (!compiled) throw new Error(`source "${source}" is not in ${rulesFile}`);
  const beside = headersPathBeside(payloadPath);
  const headersFile = headersPath ?? (existsSync(beside) ? beside : undefined);
  const headers = normalizeHeaders(headersFile ? (JSON.parse(readFileSync(headersFile, 'utf8')) as Record<string, string>) : {});
  const body = parseJsonObject(readFileSync(payloadPath));
  let events;
  try {
    events = compiled.source.parse(body, headers);
  } catch (error) {
    // A header the source needs is most often missing because no headers file was found.
    if (error instanceof PayloadError && headersFile === undefined) {
      throw new Error(`${error.message}\nno headers file: looked for ${beside}; pass one as the third argument (a JSON object of the headers the sender sets, as in test/fixtures/${source}/*.headers.json)`, { cause: error });
    }
    throw error;
  }
  for (const event of events) {
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
  process.stderr.write(`preview failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
