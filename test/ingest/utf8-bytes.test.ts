import { describe, expect, it } from 'vitest';
import { utf8Bytes } from '../../lambda/ingest/handler.js';

describe('utf8Bytes (the bytes of a body API Gateway passes as text)', () => {
  it.each([
    ['empty', ''],
    ['ASCII', '{"a":1,"b":"plain"}'],
    ['Latin-1', '{"city":"Zürich","café":"é"}'],
    ['CJK and emoji', '{"t":"日本 🙁 🚨"}'],
    ['a lone high surrogate', '{"a":"x\uD800y"}'],
    ['a lone low surrogate at the end', '{"a":"x"}\uDC00'],
    ['every 3-byte unit', '\uFFFF\uE000\u0800'],
    ['a long mixed body', `{"body":"${'Café 日本 🙁 abc '.repeat(2000)}"}`],
  ])('gives the same bytes as Buffer.from(text, "utf8"): %s', (_label, text) => {
    expect(utf8Bytes(text).equals(Buffer.from(text, 'utf8'))).toBe(true);
  });

  it('encodes a body too large for the shared buffer into bytes of its own', () => {
    const large = `{"body":"${'Café 日本 🙁 '.repeat(8000)}"}`;
    const first = utf8Bytes(large);
    const copy = Buffer.from(first);
    utf8Bytes('{"b":"a small body after it"}');
    expect(first.equals(copy)).toBe(true);
    expect(first.equals(Buffer.from(large, 'utf8'))).toBe(true);
  });
});
