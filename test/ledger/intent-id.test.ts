import { describe, expect, it, vi } from 'vitest';
import { newIntentId } from '../../lambda/ledger/intent-id.js';

describe('newIntentId (the owner token of a create intent)', () => {
  it('never repeats within a process', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => newIntentId()));
    expect(ids.size).toBe(10_000);
  });

  it('differs between processes: each draws its own random prefix', async () => {
    const first = newIntentId();
    vi.resetModules();
    const fresh = (await import('../../lambda/ledger/intent-id.js')).newIntentId();
    const prefixOf = (id: string) => id.slice(0, id.indexOf('.'));
    expect(prefixOf(fresh)).not.toBe(prefixOf(first));
    expect(prefixOf(first)).toMatch(/^[A-Za-z0-9_-]{16}$/);
  });
});
