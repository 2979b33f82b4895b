import { describe, expect, it } from 'vitest';
import { MAX_DEPTH, parseJsonObject, parseJsonObjectText } from '../../lambda/ingest/parse-body.js';
import { PayloadError } from '../../lambda/shared/errors.js';

function nestedObjects(depth: number): string {
  return `${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`;
}

function nestedArrays(depth: number): string {
  // One object at the root, then depth - 1 levels of arrays.
  return `{"a":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
}

function parseError(raw: Buffer): PayloadError {
  let caught: unknown;
  try {
    parseJsonObject(raw);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(PayloadError);
  return caught as PayloadError;
}

describe('parseJsonObject', () => {
  it.each([
    ['a flat object', '{"a":1,"b":"x"}', { a: 1, b: 'x' }],
    ['an empty object', '{}', {}],
    ['surrounding whitespace', ' \n\t{"a":null}\r\n', { a: null }],
    ['a UTF-8 BOM (stripped)', '\uFEFF{"a":true}', { a: true }],
    ['non-ASCII text', '{"title":"Überlast ✓ 🚨"}', { title: 'Überlast ✓ 🚨' }],
    ['nested arrays and objects', '{"alerts":[{"labels":{"x":"1"}},[1,[2]]]}', { alerts: [{ labels: { x: '1' } }, [1, [2]]] }],
    ['an escaped "__proto__" look-alike key', '{"__proto":1,"proto__":2,"constructor":3}', { __proto: 1, proto__: 2, constructor: 3 }],
    ['a "__proto__" string value', '{"key":"__proto__"}', { key: '__proto__' }],
  ])('accepts %s', (_label, text, expected) => {
    expect(parseJsonObject(Buffer.from(text, 'utf8'))).toEqual(expected);
  });

  it.each([
    ['an empty body', Buffer.alloc(0), 'body is empty'],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 'body is not valid UTF-8'],
    ['a lone surrogate encoded as UTF-8', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]), 'body is not valid UTF-8'],
    ['a truncated UTF-8 sequence', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe2, 0x9c, 0x22, 0x7d]), 'body is not valid UTF-8'],
    ['whitespace only', Buffer.from('   '), /^body is not JSON: /],
    ['invalid JSON', Buffer.from('{"a":'), /^body is not JSON: /],
    ['a trailing comma', Buffer.from('{"a":1,}'), /^body is not JSON: /],
    ['two objects', Buffer.from('{}{}'), /^body is not JSON: /],
    ['an array', Buffer.from('[{"a":1}]'), 'body must be a JSON object, got an array'],
    ['null', Buffer.from('null'), 'body must be a JSON object, got null'],
    ['a string', Buffer.from('"x"'), 'body must be a JSON object, got string'],
    ['a number', Buffer.from('42'), 'body must be a JSON object, got number'],
    ['a boolean', Buffer.from('true'), 'body must be a JSON object, got boolean'],
    ['a top-level __proto__ key', Buffer.from('{"__proto__":{"polluted":1}}'), 'body has a "__proto__" key'],
    ['a nested __proto__ key', Buffer.from('{"a":{"b":[{"__proto__":{}}]}}'), 'body has a "__proto__" key'],
    ['an escaped __proto__ key', Buffer.from('{"\\u005f_proto__":{"polluted":1}}'), 'body has a "__proto__" key'],
    ['a __proto__ key with only letters of "proto" escaped', Buffer.from('{"x":1,"__pr\\u006Fto__":{}}'), 'body has a "__proto__" key'],
    ['a __proto__ key written entirely in escapes', Buffer.from('{"\\u005f\\u005f\\u0070\\u0072\\u006f\\u0074\\u006f\\u005f\\u005f":{}}'), 'body has a "__proto__" key'],
    [`objects nested ${MAX_DEPTH + 1} deep`, Buffer.from(nestedObjects(MAX_DEPTH + 1)), `body nests deeper than ${MAX_DEPTH} levels`],
    [`arrays nested ${MAX_DEPTH + 1} deep`, Buffer.from(nestedArrays(MAX_DEPTH + 1)), `body nests deeper than ${MAX_DEPTH} levels`],
    ['10,000-deep nesting', Buffer.from(nestedObjects(10_000)), `body nests deeper than ${MAX_DEPTH} levels`],
  ])('rejects %s', (_label, raw, message) => {
    const error = parseError(raw);

    if (typeof message === 'string') expect(error.message).toBe(message);
    else expect(error.message).toMatch(message);
  });

  it('keeps the parser failure as the cause', () => {
    expect(parseError(Buffer.from('{')).cause).toBeInstanceOf(SyntaxError);
  });

  it(`accepts exactly ${MAX_DEPTH} levels of objects and of arrays`, () => {
    expect(() => parseJsonObject(Buffer.from(nestedObjects(MAX_DEPTH)))).not.toThrow();
    expect(() => parseJsonObject(Buffer.from(nestedArrays(MAX_DEPTH)))).not.toThrow();
  });

  it('accepts a shallow body with more brackets than MAX_DEPTH, and "proto" in values and ordinary keys', () => {
    const labels = Array.from({ length: 3 * MAX_DEPTH }, (_, i) => ({ name: `label-${i}`, tags: [i] }));
    const body = parseJsonObject(Buffer.from(JSON.stringify({ labels, protocol: 'https', note: 'prototype __proto__ \u00e9' })));
    expect((body['labels'] as unknown[]).length).toBe(3 * MAX_DEPTH);
    expect(body['protocol']).toBe('https');
  });

  it('finds a deep or __proto__ problem behind many brackets and "proto" in other places', () => {
    const many = Array.from({ length: 2 * MAX_DEPTH }, () => ({}));
    expect(parseError(Buffer.from(JSON.stringify({ many, protocol: 'x', deep: JSON.parse(nestedObjects(MAX_DEPTH)) }))).message).toBe(`body nests deeper than ${MAX_DEPTH} levels`);
    expect(parseError(Buffer.from(`{"many":${JSON.stringify(many)},"a":{"__proto__":{}}}`)).message).toBe('body has a "__proto__" key');
  });

  it('does not pollute Object.prototype when rejecting a __proto__ key', () => {
    parseError(Buffer.from('{"__proto__":{"polluted":"yes"}}'));

    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('parseJsonObjectText (a body API Gateway passes as text)', () => {
  const outcome = (run: () => unknown): unknown => {
    try {
      return { value: run() };
    } catch (error) {
      return { error: error instanceof PayloadError ? error.message : String(error) };
    }
  };

  it.each([
    '{"a":1,"b":"x"}',
    ' \n\t{"a":null}\r\n',
    '\uFEFF{"a":true}',
    '{"title":"Überlast ✓ 🚨"}',
    '{"lone":"\uD800 and \uDC00"}',
    '',
    '   ',
    '{"a":',
    '[{"a":1}]',
    'null',
    '{"__proto__":{"polluted":1}}',
    '{"\\u005f_proto__":{}}',
    nestedObjects(MAX_DEPTH),
    nestedObjects(MAX_DEPTH + 1),
    nestedArrays(MAX_DEPTH + 1),
  ])('answers as parseJsonObject does on the UTF-8 bytes: %j', (text) => {
    const bytes = Buffer.from(text, 'utf8');
    const expected = outcome(() => parseJsonObject(bytes));
    expect(outcome(() => parseJsonObjectText(text))).toEqual(expected);
    // With the bytes the handler encoded for the HMAC: same answers, fewer checks.
    expect(outcome(() => parseJsonObjectText(text, bytes))).toEqual(expected);
  });

  it('turns a lone surrogate into U+FFFD, as encoding it to UTF-8 does', () => {
    expect(parseJsonObjectText('{"a":"x\uD800y"}')).toEqual({ a: 'x\uFFFDy' });
    expect(parseJsonObjectText('{"a":"x\uD800y","b":"\uFFFD"}', Buffer.from('{"a":"x\uD800y","b":"\uFFFD"}', 'utf8'))).toEqual({ a: 'x\uFFFDy', b: '\uFFFD' });
  });
});
