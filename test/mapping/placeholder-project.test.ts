import { describe, expect, it } from 'vitest';
import { validateRulesFile } from '../../lambda/mapping/compile-rules.js';
import { PLACEHOLDER_PROJECT, placeholderProjectPaths, placeholderProjectWarning } from '../../lambda/mapping/placeholder-project.js';

const REAL = '3f1c9a2e-7d4b-4e8a-9c1d-2b5e6f7a8b9c';
const TYPE = '00000000-0000-0000-0000-000000000001';
const rule = (name: string, extra: Record<string, unknown> = {}) => ({ name, case: { title: 't', ...extra } });

describe('placeholderProjectPaths', () => {
  it('names where the placeholder comes from for the rules that create cases: a rule, its source defaults, the file defaults', () => {
    const file = validateRulesFile({
      version: 1,
      defaults: { project: PLACEHOLDER_PROJECT, type_id: TYPE },
      sources: {
        github: { rules: [rule('own real', { project: REAL }), rule('from file defaults'), rule('own placeholder', { project: PLACEHOLDER_PROJECT })] },
        sentry: { defaults: { project: PLACEHOLDER_PROJECT }, rules: [rule('from source defaults')] },
        grafana: { defaults: { project: REAL }, rules: [rule('real source default')] },
      },
    });
    expect(placeholderProjectPaths(file)).toEqual(['defaults.project', 'sources.github.rules[2].case.project', 'sources.sentry.defaults.project']);
  });

  it('says nothing when every creating rule overrides it, or only ignore rules would use it', () => {
    const file = validateRulesFile({
      version: 1,
      defaults: { project: PLACEHOLDER_PROJECT, type_id: TYPE },
      sources: { github: { defaults: { project: REAL }, rules: [rule('real')] }, sentry: { rules: [{ name: 'skip', action: 'ignore' }, rule('own', { project: REAL })] } },
    });
    expect(placeholderProjectPaths(file)).toEqual([]);
    expect(placeholderProjectWarning(file, 'my-rules.yaml')).toBeUndefined();
  });

  it('warns with the file, the paths and what to set', () => {
    const file = validateRulesFile({ version: 1, defaults: { project: PLACEHOLDER_PROJECT, type_id: TYPE }, sources: { github: { rules: [rule('x')] } } });
    expect(placeholderProjectWarning(file, 'my-rules.yaml')).toMatch(/^my-rules\.yaml files cases under the placeholder project 0{8}-0{4}-0{4}-0{4}-0{12} \(defaults\.project\): .*Set it to your Case Management project's UUID/);
  });
});
