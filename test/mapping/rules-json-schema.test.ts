import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parseRulesText } from '../../lambda/mapping/load-rules-file.js';
import { rulesJsonSchema } from '../../lambda/mapping/rules-json-schema.js';

describe('config/rules.schema.json', () => {
  it('is up to date with the rules schema (run `npm run rules:schema`)', () => {
    const committed: unknown = JSON.parse(readFileSync('config/rules.schema.json', 'utf8'));

    expect(committed).toEqual(rulesJsonSchema());
  });

  it('accepts the presets and rejects a typo, as an editor would', () => {
    const ajv = new Ajv2020.default({ strict: false, allErrors: true });
    const validate = ajv.compile(rulesJsonSchema());
    const presets = parseRulesText(readFileSync('config/rules.yaml', 'utf8'), 'config/rules.yaml');

    expect(validate(presets)).toBe(true);
    expect(validate({ version: 1, sources: { github: { rules: [{ name: 'a', case: { titel: 'x' } }] } } })).toBe(false);
  });

  it('describes each lifecycle block for its own level (file, source, rule)', () => {
    type Node = { description?: string; properties?: Record<string, Node>; additionalProperties?: Node | boolean; items?: Node };
    const root = rulesJsonSchema() as Node;
    const source = root.properties!['sources']!.additionalProperties as Node;
    const rule = source.properties!['rules']!.items!;

    expect(root.properties!['lifecycle']!.description).toMatch(/^Lifecycle defaults/);
    expect(source.properties!['lifecycle']!.description).toMatch(/^Lifecycle options for this source's cases/);
    expect(rule.properties!['lifecycle']!.description).toMatch(/^Lifecycle options for the cases of this rule/);
  });
});
