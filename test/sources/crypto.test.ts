import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hmacSha256 } from '../../lambda/sources/crypto.js';

/** Node's own HMAC: what hmacSha256 (two one-shot hashes over padded key blocks) must equal. */
function nodeHmac(key: string | Buffer, ...parts: (string | Buffer)[]): string {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

describe('hmacSha256', () => {
  // RFC 4231 test cases 1, 2 and 6 (a key longer than the block is hashed first).
  it.each([
    ['case 1: 20-byte key', Buffer.alloc(20, 0x0b), 'Hi There', 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7'],
    ['case 2: short text key', 'Jefe', 'what do ya want for nothing?', '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'],
    ['case 6: 131-byte key', Buffer.alloc(131, 0xaa), 'Test Using Larger Than Block-Size Key - Hash Key First', '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54'],
  ])('gives the RFC 4231 digest (%s)', (_name, key, data, expected) => {
    expect(hmacSha256(key, data).toString('hex')).toBe(expected);
  });

  const keys: [string, string | Buffer][] = [
    ['an empty key', ''],
    ['a 1-byte key', 'k'],
    ['a 63-byte key', 'x'.repeat(63)],
    ['a 64-byte key (one block)', 'y'.repeat(64)],
    ['a 65-byte key (hashed first)', 'z'.repeat(65)],
    ['a non-ASCII text key', 'sécret-ключ-🔑'],
    ['a binary key', Buffer.from('00ff10ee20dd30cc40bb50aa60997088', 'hex')],
  ];
  const messages: [string, (string | Buffer)[]][] = [
    ['an empty body', ['']],
    ['an ASCII body', ['{"action":"opened","issue":{"number":1}}']],
    ['a non-ASCII body', ['{"title":"Zahlung fehlgeschlagen – 支付失败 ✓"}']],
    ['a lone surrogate (encoded as U+FFFD, as update() does)', ['{"a":"x\uD800y"}']],
    ['bytes', [Buffer.from([0, 1, 2, 250, 251, 255])]],
    ['a timestamp prefix then the body', ['1700000000:', Buffer.from('{"state":"alerting"}')]],
    ['a body larger than the scratch buffer (createHmac path)', ['a'.repeat(70 * 1024)]],
    ['a body just within the scratch buffer', [Buffer.alloc(64 * 1024 - 64, 0x61)]],
    ['several parts one byte past the scratch buffer', ['x'.repeat(30_000), Buffer.alloc(64 * 1024 - 64 - 30_000 + 1, 0x62)]],
    ['a non-ASCII body whose UTF-8 outgrows the scratch buffer though its length does not', ['中'.repeat(30_000)]],
  ];
  for (const [keyName, key] of keys) {
    it.each(messages)(`equals createHmac with ${keyName} for %s`, (_name, parts) => {
      expect(hmacSha256(key, ...parts).toString('hex')).toBe(nodeHmac(key, ...parts));
    });
  }

  it('keeps each key apart when several keys alternate (cached key blocks, shared buffers)', () => {
    const body = '{"n":1}';
    const want = keys.map(([, key]) => nodeHmac(key, body));
    for (let round = 0; round < 3; round++) {
      expect(keys.map(([, key]) => hmacSha256(key, body).toString('hex'))).toEqual(want);
    }
  });

  it('returns a digest of its own, not a view of a shared buffer', () => {
    const first = hmacSha256('key-one', 'a');
    const copy = Buffer.from(first);
    hmacSha256('key-one', 'b');
    hmacSha256('key-two', 'c');
    expect(first.equals(copy)).toBe(true);
  });
});
