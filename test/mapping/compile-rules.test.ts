import { describe, expect, it } from 'vitest';
import { compileRules, validateRulesFile } from '../../lambda/mapping/compile-rules.js';
import { loadRulesFile, parseRulesText } from '../../lambda/mapping/load-rules-file.js';
import { ConfigError } from '../../lambda/shared/errors.js';

const PROJECT = '11111111-1111-1111-1111-111111111111';
const TYPE = '00000000-0000-0000-0000-000000000001';

function file(githubRules: unknown[], extra: Record<string, unknown> = {}) {
  return { version: 1, defaults: { project: PROJECT, type_id: TYPE }, sources: { github: { rules: githubRules } }, ...extra };
}

function problemsOf(input: unknown): string {
  try {
    compileRules(input);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected the rules to be rejected');
}

describe('compileRules', () => {
  it("gives each source its sender's answer deadline: the default, or ack_deadline_ms from the file (eager and lazy)", () => {
    const rules = { version: 1, defaults: { project: PROJECT, type_id: TYPE }, sources: { github: { ack_deadline_ms: 4000, rules: [{ name: 'a', case: { title: 'x' } }] }, sentry: { rules: [{ name: 's', case: { title: 'x' } }] } } };
    for (const compiled of [compileRules(rules), compileRules(validateRulesFile(rules), { lazy: true, validated: true })]) {
      expect({ github: compiled.sources.get('github')?.ackDeadlineMs, sentry: compiled.sources.get('sentry')?.ackDeadlineMs }).toEqual({ github: 4000, sentry: 1000 });
    }
    expect(problemsOf({ ...rules, sources: { github: { ack_deadline_ms: 50, rules: [{ name: 'a', case: { title: 'x' } }] } } })).toContain('sources.github.ack_deadline_ms');
  });

  it('compiles the shipped presets for every source', () => {
    const rules = loadRulesFile();

    expect([...rules.sources.keys()].sort()).toEqual(['alertmanager', 'cloudwatch', 'generic', 'github', 'grafana', 'opsgenie', 'pagerduty', 'sentry', 'standard-webhooks']);
  });

  it.each([
    ['an unknown key in a rule', file([{ name: 'a', titel: 'x', case: { title: 'x' } }]), 'sources.github.rules[0]: Unrecognized key: "titel"'],
    ['a misspelt case field', file([{ name: 'a', case: { title: 'x', priorty: 'P1' } }]), 'sources.github.rules[0].case: Unrecognized key: "priorty"'],
    ['a priority that does not exist', file([{ name: 'a', case: { title: 'x' } }, { name: 'b', events: ['x'], case: { title: 'x', priority: 'P9' } }].reverse()), 'sources.github.rules[0].case.priority: "P9" is not one of NOT_DEFINED, P1, P2, P3, P4, P5'],
    ['a broken expression in a title', file([{ name: 'a', case: { title: '{{ issue.title & }}' } }]), 'sources.github.rules[0].case.title: {{ issue.title & }}'],
    ['a broken condition', file([{ name: 'a', when: 'issue.(', case: { title: 'x' } }]), 'sources.github.rules[0].when:'],
    ['an unknown source', { version: 1, sources: { jira: { rules: [{ name: 'a' }] } } }, 'sources: Unrecognized key: "jira"'],
    ['a missing title', file([{ name: 'a', case: { description: 'x' } }]), 'sources.github.rules[0].case.title: required'],
    ['a missing project', { version: 1, defaults: { type_id: TYPE }, sources: { github: { rules: [{ name: 'a', case: { title: 'x' } }] } } }, 'sources.github.rules[0].case.project: required'],
    ['a duplicate rule name', file([{ name: 'a', events: ['x'], case: { title: 'x' } }, { name: 'a', case: { title: 'y' } }]), 'sources.github.rules[1].name: "a" is used by an earlier rule'],
    ['an unreachable rule', file([{ name: 'a', case: { title: 'x' } }, { name: 'b', case: { title: 'y' } }]), 'sources.github.rules[1]: never reached'],
    ['a bad source setting', file([{ name: 'a', case: { title: 'x' } }], { sources: { github: { settings: { secret: 'lower-case' }, rules: [{ name: 'a', case: { title: 'x' } }] } } }), 'sources.github.settings.secret'],
    ['an unknown source setting', file([], { sources: { github: { settings: { sekret: 'X' }, rules: [{ name: 'a', case: { title: 'x' } }] } } }), 'sources.github.settings: Unrecognized key: "sekret"'],
    ['a list for a single-valued attribute', file([{ name: 'a', case: { title: 'x', custom_attributes: { team: { type: 'SELECT', value: ['a', 'b'] } } } }]), 'custom_attributes.team.value: a list needs multi: true'],
    ['a wrong version', { version: 2, sources: {} }, 'version:'],
    [
      'a marker attribute that a rule also sets (#4)',
      file([{ name: 'a', case: { title: 'x', custom_attributes: { dedup: { type: 'TEXT', value: 'x' } } } }], { lifecycle: { marker_attribute: 'dedup' } }),
      'lifecycle.marker_attribute: "dedup" is also a custom attribute of sources.github.rules[0]',
    ],
    ['an empty marker attribute key (#4)', file([{ name: 'a', case: { title: 'x' } }], { lifecycle: { marker_attribute: '' } }), 'lifecycle.marker_attribute'],
    ['an occurrence threshold of 0 firings (#17)', file([{ name: 'a', case: { title: 'x' } }], { lifecycle: { open_after: { occurrences: 0, within_seconds: 60 } } }), 'lifecycle.open_after.occurrences: must be a whole number from 1 to 1000 (1: open on the first firing)'],
    ['an occurrence threshold of 2.5 firings (#17)', file([{ name: 'a', case: { title: 'x' } }], { lifecycle: { open_after: { occurrences: 2.5, within_seconds: 60 } } }), 'lifecycle.open_after.occurrences: must be a whole number from 1 to 1000'],
    ['an occurrence threshold within 0 seconds (#17)', file([{ name: 'a', case: { title: 'x' } }], { lifecycle: { open_after: { occurrences: 3, within_seconds: 0 } } }), 'lifecycle.open_after.within_seconds: must be a whole number of seconds above 0, at most 86400 (a day)'],
    ['an occurrence threshold without its window (#17)', file([{ name: 'a', case: { title: 'x' } }], { lifecycle: { open_after: { occurrences: 3 } } }), 'lifecycle.open_after.within_seconds: must be a whole number of seconds above 0'],
    [
      'an occurrence threshold on a rule with an unknown key (#17)',
      file([{ name: 'a', lifecycle: { open_after: { occurrences: 3, within_seconds: 60, per: 'alert' } }, case: { title: 'x' } }]),
      'sources.github.rules[0].lifecycle.open_after: Unrecognized key: "per"',
    ],
  ])('rejects %s and names the path', (_name, input, expected) => {
    expect(problemsOf(input)).toContain(expected);
  });

  it('reports every problem at once', () => {
    const message = problemsOf(file([{ name: 'a', events: ['x'], case: { title: '{{ ( }}' } }, { name: 'b', when: ')', case: { title: 'y' } }]));

    expect(message).toContain('rules[0].case.title');
    expect(message).toContain('rules[1].when');
  });
});

describe('compileRules with lazy: true', () => {
  it('gives the same rules as the eager compile, compiled on first access', () => {
    const input = file([
      { name: 'a', events: ['issues.opened'], when: "issue.state = 'open'", case: { title: '{{ issue.title }}', priority: 'P2' } },
      { name: 'b', action: 'ignore' },
    ]);
    const eager = compileRules(input).sources.get('github');
    const lazy = compileRules(input, { lazy: true }).sources.get('github');

    expect(lazy?.source.name).toBe('github');
    expect(lazy?.rules.map((r) => [r.name, r.path, r.action, r.when?.source, r.fields?.title.source])).toEqual(
      eager?.rules.map((r) => [r.name, r.path, r.action, r.when?.source, r.fields?.title.source]),
    );
    // Compiled once: the same objects on every access.
    expect(lazy?.rules).toBe(lazy?.rules);
  });

  it('still checks the schema and the source settings up front', () => {
    expect(() => compileRules(file([{ name: 'a', titel: 'x', case: { title: 'x' } }]), { lazy: true })).toThrow(ConfigError);
    expect(() => compileRules(file([], { sources: { github: { settings: { sekret: 'X' }, rules: [{ name: 'a', case: { title: 'x' } }] } } }), { lazy: true })).toThrow(/sources.github.settings/);
  });

  it('reports a broken rule when its source is first used, naming the path', () => {
    const rules = compileRules(
      {
        version: 1,
        defaults: { project: PROJECT, type_id: TYPE },
        sources: { github: { rules: [{ name: 'a', case: { title: '{{ issue.title & }}' } }] }, pagerduty: { rules: [{ name: 'p', case: { title: 'x' } }] } },
      },
      { lazy: true, origin: 'bundled rules' },
    );

    expect(rules.sources.get('pagerduty')?.rules).toHaveLength(1);
    expect(() => rules.sources.get('github')?.rules).toThrow(ConfigError);
    expect(() => rules.sources.get('github')?.rules).toThrow(/bundled rules is invalid:\n  sources.github.rules\[0\].case.title: \{\{ issue.title & \}\}/);
  });
});

describe('compileRules with lazy and validated (the Lambda: rules checked at synth)', () => {
  const input = {
    version: 1,
    defaults: { project: PROJECT, type_id: TYPE },
    lifecycle: { comment_interval_seconds: 60 },
    sources: {
      github: { settings: { secret: 'GH_SECRET' }, lifecycle: { on_resolve: 'comment' }, rules: [{ name: 'a', case: { title: 'x' } }] },
      pagerduty: { rules: [{ name: 'p', case: { title: 'y' } }] },
    },
  };

  it('binds each source and resolves its policy on first use, as the eager compile does', () => {
    const eager = compileRules(input).sources;
    const lazy = compileRules(validateRulesFile(input), { lazy: true, validated: true }).sources;

    for (const name of ['github', 'pagerduty'] as const) {
      expect(lazy.get(name)?.source.settings).toEqual(eager.get(name)?.source.settings);
      expect(lazy.get(name)?.lifecycle).toEqual(eager.get(name)?.lifecycle);
    }
    expect(lazy.get('github')?.source.settings.secret).toBe('GH_SECRET');
    expect(lazy.get('github')?.lifecycle).toMatchObject({ comment_interval_seconds: 60, on_resolve: 'comment' });
    // Bound once: the same object on every access.
    expect(lazy.get('github')?.source).toBe(lazy.get('github')?.source);
  });

  it('reports settings that fail to bind when the source is first used, naming the path', () => {
    const broken = { ...input, sources: { ...input.sources, github: { ...input.sources.github, settings: { secret: 'lower-case' } } } };
    // As if validated: the rules file schema keeps settings as they are (each source checks its own).
    const rules = compileRules(validateRulesFile(broken), { lazy: true, validated: true, origin: 'bundled rules' });

    expect(rules.sources.get('pagerduty')?.source.name).toBe('pagerduty');
    expect(() => rules.sources.get('github')?.source).toThrow(ConfigError);
    expect(() => rules.sources.get('github')?.source).toThrow(/bundled rules is invalid:\n  sources\.github\.settings\.secret: must be an UPPER_SNAKE key name/);
  });
});

describe('parseRulesText', () => {
  it('rejects duplicate YAML keys with their line', () => {
    expect(() => parseRulesText('version: 1\nversion: 1\n', 'rules.yaml')).toThrow(/rules.yaml is not valid YAML/);
  });
});
