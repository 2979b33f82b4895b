import { readFileSync } from 'node:fs';
import { compileRules } from '../lambda/mapping/compile-rules.js';
import { parseRulesText } from '../lambda/mapping/load-rules-file.js';

/**
 * Reads and validates the rules file at synth (a bad rule fails `cdk synth` with its path) and
 * returns it as JSON for esbuild to inline, so the YAML parser stays out of the Lambda bundle.
 */
export function readRulesForBundle(path: string): { json: string; sources: string[] } {
  const parsed = parseRulesText(readFileSync(path, 'utf8'), path);
  const compiled = compileRules(parsed, { origin: path });
  return { json: JSON.stringify(parsed), sources: [...compiled.sources.keys()] };
}
