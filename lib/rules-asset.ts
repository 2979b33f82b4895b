import { readFileSync } from 'node:fs';
import { compileRules, validateRulesFile } from '../lambda/mapping/compile-rules.js';
import { collectExpressions, precompileExpressions } from '../lambda/mapping/expression.js';
import { parseRulesText } from '../lambda/mapping/load-rules-file.js';
import type { RulesFile } from '../lambda/mapping/rules-schema.js';
import { ConfigError } from '../lambda/shared/errors.js';

/**
 * Reads and validates the rules file at synth (a bad rule fails `cdk synth` with its path) and
 * returns the schema's output as JSON for esbuild to inline, so the YAML parser stays out of the
 * Lambda bundle and the Lambda does not validate it again;
 * `expressionsJson`: the parsed form of every expression the fast path runs, so the Lambda needs
 * JSONata (a lazy chunk) only for the others (lambda/mapping/expression.ts).
 */
export function readRulesForBundle(path: string): { file: RulesFile; json: string; expressionsJson: string; sources: string[]; silence: { source: string; minutes: number }[] } {
  const file = validateRulesFile(parseRulesText(readRulesText(path), path), path);
  const { result: compiled, sources: expressions } = collectExpressions(() => compileRules(file, { origin: path, validated: true }));
  // The schema's output (defaults filled in): the Lambda compiles it with `validated: true`.
  const silence = [...compiled.sources].flatMap(([source, { source: bound }]) => (bound.silenceAlarmMinutes === undefined ? [] : [{ source, minutes: bound.silenceAlarmMinutes }]));
  return { file, json: JSON.stringify(file), expressionsJson: JSON.stringify(precompileExpressions(expressions)), sources: [...compiled.sources.keys()], silence };
}

function readRulesText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new ConfigError(
      missing
        ? `the rules file ${path} does not exist. Start from the presets: cp config/rules.yaml ${path}, then set defaults.project and edit the rules`
        : `cannot read the rules file ${path}: ${(cause as Error).message}`,
      { cause },
    );
  }
}
