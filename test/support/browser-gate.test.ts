import { describe, expect, it } from 'vitest';
import { planBrowser, resolveChromium } from './browser-gate.js';

describe('browser gate (vitest.config.ts)', () => {
  const chromium = '/opt/nowhere/chromium';

  it('runs the browser test, silently, when Chromium is there (CI or not)', () => {
    expect(planBrowser({ chromium, exists: true, ci: false })).toEqual({ include: true });
    expect(planBrowser({ chromium, exists: true, ci: true })).toEqual({ include: true });
  });

  it('leaves it out without Chromium and says so in one line naming the path', () => {
    const plan = planBrowser({ chromium, exists: false, ci: false });
    expect(plan.include).toBe(false);
    expect(plan.note).toMatch(/^console browser test left out: no Chromium at \/opt\/nowhere\/chromium/);
    expect(plan.note).not.toContain('\n');
  });

  it('keeps it under CI without Chromium, so the run fails and says why', () => {
    const plan = planBrowser({ chromium, exists: false, ci: true });
    expect(plan.include).toBe(true);
    expect(plan.note).toContain('under CI it is required');
  });

  it('uses CASE_BRIDGE_CHROMIUM, else Debian\'s path', () => {
    expect(resolveChromium({ CASE_BRIDGE_CHROMIUM: '/usr/lib/chromium/chromium' })).toBe('/usr/lib/chromium/chromium');
    expect(resolveChromium({})).toBe('/usr/bin/chromium');
  });
});
