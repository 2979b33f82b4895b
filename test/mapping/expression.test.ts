import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import { collectExpressions, compileExpression, ExpressionSyntaxError, JSONATA_FUNCTIONS, precompileExpressions, usePrecompiledExpressions } from '../../lambda/mapping/expression.js';

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

  it.each([
    ['$nosuchfn(issue.title)', 'unknown function $nosuchfn at character 1: not a JSONata function'],
    ['"x: " & $Uppercase(issue.title)', 'unknown function $Uppercase at character 9: did you mean $uppercase?'],
    ['$substring(?, 1) ~> $nosuch', 'unknown function $nosuch at character 21'],
    ['issue.labels.$trimm(name)', 'unknown function $trimm at character 14'],
    ['$map(issue.labels, function($l) { $f($l) })', 'unknown function $f'],
    ['$event()', 'unknown function $event'],
    ['$nosuchfn(?, 1)', 'unknown function $nosuchfn'],
  ])('refuses %s, a call to a function that does not exist', (expression, message) => {
    expect(() => compileExpression(expression)).toThrow(ExpressionSyntaxError);
    expect(() => compileExpression(expression)).toThrow(message);
  });

  it.each([
    ['( $short := function($s) { $substring($s, 0, 3) }; $short(issue.title) )', 'Dis'],
    ['$join($map(issue.labels, function($l, $i) { $string($i) & $l.name }), ",")', '0bug,1p1'],
    ['issue.labels.name ~> $join(", ")', 'bug, p1'],
    ['issue.title ~> $uppercase', 'DISK FULL'],
    ['( $up := $uppercase; $up(issue.title) )', 'DISK FULL'],
    ['$reduce([1, 2, 3], function($acc, $v) { $acc + $v })', 6],
    ['( $f := $substring(?, 0, 4); $f(issue.title) )', 'Disk'],
    ['$type($now()) & " " & $type($millis())', 'string number'],
    ['$join(issue.labels@$l.$l.name, ",")', 'bug,p1'],
  ])('accepts %s: functions JSONata has or the expression defines', async (expression, expected) => {
    expect(await compileExpression(expression).evaluate(input, bindings)).toEqual(expected);
  });

  it("knows exactly JSONata's functions", async () => {
    // Every name is a function in JSONata ...
    for (const name of JSONATA_FUNCTIONS) expect(await jsonata(`$type($${name})`).evaluate({}), name).toBe('function');
    // ... and none of the functions JSONata's source binds is missing (a JSONata upgrade that adds one fails here).
    const source = readFileSync(createRequire(import.meta.url).resolve('jsonata'), 'utf8');
    const bound = [...source.matchAll(/(?:staticFrame|environment)\.bind\('(\w+)', defineFunction\(/g)].map((m) => m[1]);
    expect(bound.length).toBeGreaterThan(60);
    expect(new Set(bound)).toEqual(JSONATA_FUNCTIONS);
  });
});
