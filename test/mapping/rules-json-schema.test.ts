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
});
