import { describe, expect, it } from 'vitest';
import { isCi, planConformance, resolveSharedDir } from './conformance-gate.js';

describe('conformance gate (vitest.config.ts)', () => {
  const sharedDir = '/elsewhere/shared';

  it('runs the suite, silently, when the vendor data is there (CI or not)', () => {
    expect(planConformance({ sharedDir, sharedExists: true, ci: false })).toEqual({ include: true });
    expect(planConformance({ sharedDir, sharedExists: true, ci: true })).toEqual({ include: true });
  });

  it('leaves the suite out on a plain clone and says so in one line naming the folder', () => {
    const plan = planConformance({ sharedDir, sharedExists: false, ci: false });
    expect(plan.include).toBe(false);
    expect(plan.note).toMatch(/^conformance suite left out: it needs the vendor data in \.\.\/shared, not found at \/elsewhere\/shared/);
    expect(plan.note).not.toContain('\n');
  });

  it('keeps the suite under CI without the data, so the run fails and says why', () => {
    const plan = planConformance({ sharedDir, sharedExists: false, ci: true });
    expect(plan.include).toBe(true);
    expect(plan.note).toContain('/elsewhere/shared not found');
    expect(plan.note).toContain('under CI it is required');
  });

  it('reads CI as CI services set it', () => {
    expect(isCi({ CI: 'true' })).toBe(true);
    expect(isCi({ CI: '1' })).toBe(true);
    expect(isCi({ CI: 'false' })).toBe(false);
    expect(isCi({ CI: '0' })).toBe(false);
    expect(isCi({ CI: '' })).toBe(false);
    expect(isCi({})).toBe(false);
  });

  it('finds the data beside the repository unless CASE_BRIDGE_SHARED_DIR names another folder', () => {
    expect(resolveSharedDir({})).toMatch(/[/\\]shared$/);
    expect(resolveSharedDir({ CASE_BRIDGE_SHARED_DIR: '/data/vendor' })).toBe('/data/vendor');
  });
});
