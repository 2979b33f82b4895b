import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { ConfigError } from '../shared/errors.js';
import { compileRules, type CompiledRules } from './compile-rules.js';

/** The presets shipped in config/rules.yaml. */
export const PRESET_RULES_FILE = fileURLToPath(new URL('../../config/rules.yaml', import.meta.url));

/** Parses rules YAML (or JSON, which is YAML) strictly: duplicate keys and syntax errors name their line. */
export function parseRulesText(text: string, origin: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true, strict: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(`${origin} is not valid YAML:\n  ${doc.errors.map((e) => e.message.split('\n')[0]).join('\n  ')}`, { cause: doc.errors[0] });
  }
  return doc.toJS({ maxAliasCount: 50 });
}

/** Reads, validates and compiles a rules file (build time, `npm start`, tests; not in the Lambda bundle). */
export function loadRulesFile(path: string = PRESET_RULES_FILE): CompiledRules {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new ConfigError(`cannot read rules file ${path}: ${(cause as Error).message}`, { cause });
  }
  return compileRules(parseRulesText(text, path), { origin: path });
}
