import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import { collectExpressions, compileExpression, ExpressionSyntaxError, precompileExpressions, usePrecompiledExpressions } from '../../lambda/mapping/expression.js';

const input = {
  issue: { title: 'Disk full', number: 12, ratio: 1.5, labels: [{ name: 'bug' }, { name: 'p1' }], empty: [], body: null },
  repository: { full_name: 'acme/shop' },
  blank: '',
  zero: 0,
  flag: true,
  'odd key': { x: 'y' },
};
const bindings = { event: { type: 'issues.opened', signal: 'firing', link: 'https://example.test/1' } };

const ROWS: [string, boolean][] = [
    ['issue.title', true],
    ['"[" & repository.full_name & "#" & issue.number & "] " & issue.title', true],
    ['$event.type in ["issues.opened", "issues.reopened"]', true],
    ['$event.type = "issues.opened" and issue.number > 3', true],
    ['issue.number != 12 or flag', true],
    ['issue.labels.name', true],
    ['issue.ratio & " GB"', true],
    ['missing.deeper.path', true],
    ['missing = "x"', true],
    ['missing != "x"', true],
    ['issue.body ? "has body" : "no body"', true],
    ['blank or zero', true],
    ['issue.empty', true],
    ['$event.nothing & "!"', true],
    ['`odd key`.x', true],
    ['issue.number >= 12 and issue.number <= 12', true],
    ['$count(issue.labels)', false],
    ['$join(issue.labels.name, ", ")', false],
    ['issue.labels[name = "p1"].name', false],
    ['$event', false],
    ['$.issue.title', true],
    ['flag ? "yes"', true],
    ['issue.number > 20 ? "big" : issue.ratio > 1 ? "mid" : null', true],
    ['issue.number < 20 ? (issue.ratio > 1 ? "big" : "small") : null', false],
];

describe('compileExpression', () => {
  // Every row is checked against JSONata itself: the fast path must never change a result.
  it.each(ROWS)('evaluates %s exactly as JSONata does (fast path: %s)', async (expression, fast) => {
    const compiled = compileExpression(expression);

    const got = await compiled.evaluate(input, bindings);
    const want = await jsonata(expression).evaluate(input, bindings);

    expect(compiled.fast).toBe(fast);
    expect(got).toEqual(want);
  });

  // The Lambda receives the fast expressions parsed at synth (lib/rules-asset.ts) and never parses them.
  it.each(ROWS)('evaluates %s precompiled exactly as JSONata does (fast path: %s)', async (expression, fast) => {
    const table = precompileExpressions([expression]);
    expect(Object.hasOwn(table, expression)).toBe(fast);
    usePrecompiledExpressions(JSON.parse(JSON.stringify(table)) as Record<string, unknown>);
    try {
      const compiled = compileExpression(expression);

      expect(compiled.fast).toBe(fast);
      expect(await compiled.evaluate(input, bindings)).toEqual(await jsonata(expression).evaluate(input, bindings));
    } finally {
      usePrecompiledExpressions({});
    }
  });

  it('collects the expressions compiled inside collectExpressions, and precompiling reports syntax errors', () => {
    const { sources } = collectExpressions(() => [compileExpression('issue.title'), compileExpression('$count(issue.labels)')]);
    expect([...sources]).toEqual(['issue.title', '$count(issue.labels)']);
    expect(() => precompileExpressions(['issue.(title'])).toThrow(ExpressionSyntaxError);
  });

  it('throws ExpressionSyntaxError with the position for a broken expression', () => {
    expect(() => compileExpression('issue.title &')).toThrow(ExpressionSyntaxError);
    expect(() => compileExpression('issue.(title')).toThrow(/at character \d+/);
  });

  it('has no access to the environment', async () => {
    process.env['CASE_BRIDGE_CANARY'] = 'leak';
    const compiled = compileExpression('$env ? $env : "none"');

    expect(await compiled.evaluate(input, bindings)).toBe('none');
  });
});
