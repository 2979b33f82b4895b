import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { dedupMarker, isDedupMarker, markerFooter, withMarker } from '../../lambda/ledger/marker.js';

const MARKER = dedupMarker('alertmanager', 'webhook/{}:{alertname="DiskFull"}');

describe('dedup marker', () => {
  it('is one alphanumeric token, stable per alert and generation', () => {
    expect(isDedupMarker(MARKER)).toBe(true);
    expect(dedupMarker('alertmanager', 'webhook/{}:{alertname="DiskFull"}')).toBe(MARKER);
    expect(dedupMarker('alertmanager', 'webhook/{}:{alertname="DiskFull"}', 1)).not.toBe(MARKER);
    expect(dedupMarker('github', 'webhook/{}:{alertname="DiskFull"}')).not.toBe(MARKER);
  });

  it('is `casebridge` + the first 24 hex digits of SHA-256("<source>\\n<identity>\\n<generation>"), as cases already marked carry it', () => {
    const expected = (source: string, identity: string, generation: number) => `casebridge${createHash('sha256').update(`${source}\n${identity}\n${generation}`).digest('hex').slice(0, 24)}`;
    expect(MARKER).toBe(expected('alertmanager', 'webhook/{}:{alertname="DiskFull"}', 0));
    expect(dedupMarker('pagerduty', 'Q1ABCDEF', 3)).toBe(expected('pagerduty', 'Q1ABCDEF', 3));
    expect(dedupMarker('github', '424242424:issue:1874 Café 日本', 0)).toBe(expected('github', '424242424:issue:1874 Café 日本', 0));
  });

  it('is appended to the description once, as the last line', () => {
    const once = withMarker('Disk full on db-1', MARKER);
    expect(once).toBe(`Disk full on db-1\n\n${markerFooter(MARKER)}`);
    expect(withMarker(once, MARKER)).toBe(once);
    expect(withMarker(undefined, MARKER)).toBe(markerFooter(MARKER));
    expect(withMarker('', MARKER)).toBe(markerFooter(MARKER));
  });

  it('keeps the footer whole when the description is cut to the limit, and never splits a surrogate pair', () => {
    const max = 200;
    // The cut falls right after the first half of the emoji.
    const room = max - markerFooter(MARKER).length - 2;
    const text = withMarker(`${'a'.repeat(room - 2)}🚨${'b'.repeat(100)}`, MARKER, max);
    expect(text.startsWith(`${'a'.repeat(room - 2)}…`)).toBe(true);
    expect(text.length).toBeLessThanOrEqual(max);
    expect(text.endsWith(markerFooter(MARKER))).toBe(true);
    expect(text.isWellFormed()).toBe(true);
    expect(withMarker(text, MARKER, max)).toBe(text);
  });
});
