import { describe, expect, it } from 'vitest';
import { compileTemplate, TemplateSyntaxError, toText } from '../../lambda/mapping/template.js';

const body = { a: { n: 3, list: ['x', 'y'], obj: { k: 1 } }, s: 'text' };

describe('compileTemplate', () => {
  it.each([
    ['plain text', 'plain text'],
    ['{{ s }}', 'text'],
    ['{{ a.n }}', 3],
    ['{{ a.list }}', ['x', 'y']],
    ['n={{ a.n }}, list={{ a.list }}', 'n=3, list=x, y'],
    ['{{ a.obj }} and {{ missing }}!', '{"k":1} and !'],
  ])('renders %j as %j', async (source, expected) => {
    expect(await compileTemplate(source).evaluate(body, {})).toEqual(expected);
  });

  it('marks literal-only templates as constant', () => {
    expect(compileTemplate('P3').constant).toBe(true);
    expect(compileTemplate('{{ s }}').constant).toBe(false);
  });

  it.each([['{{ s '], ['{{ }}'], ['{{ s & }}']])('rejects %j', (source) => {
    expect(() => compileTemplate(source)).toThrow(TemplateSyntaxError);
  });
});

describe('toText', () => {
  it.each([
    [undefined, ''],
    [null, ''],
    [12, '12'],
    [true, 'true'],
    [['a', 2, null], 'a, 2'],
    [{ x: 1 }, '{"x":1}'],
  ])('turns %j into %j', (value, text) => {
    expect(toText(value)).toBe(text);
  });
});
