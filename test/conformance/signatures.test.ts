import { expect, it } from 'vitest';
import { normalizeHeaders } from '../../lambda/sources/crypto.js';
import { isSourceName, SOURCES, type BoundSource } from '../../lambda/sources/index.js';
import { describeShared, readSignatureVectors, type SignatureVector } from './shared.js';

// Every vector of ../shared/fixtures/signatures.json through our own verifiers, bound with the settings the
// vector describes. Official vectors come from the vendors (GitHub docs, octokit, go-pagerduty, the Standard
// Webhooks reference library); derived ones were computed from the documented algorithms.

/** "now" for vectors that carry none (their schemes check no timestamp). */
const FIXED_NOW = 1_700_000_000;

/** The settings (`sources.<name>.settings` of the rules file) that the vector's sender configuration implies. */
function settingsOf(v: SignatureVector): Record<string, unknown> {
  switch (v.scheme) {
    case 'static-basic':
      return { scheme: 'basic' };
    case 'static-bearer':
      return { scheme: 'bearer' };
    case 'static-header':
      return v.header_name === undefined ? {} : { header: v.header_name };
    case 'grafana-hmac-sha256':
      return {
        ...(v.timestamp_header !== undefined ? { timestamp_header: v.timestamp_header } : {}),
        ...(v.tolerance_s !== undefined ? { tolerance_seconds: v.tolerance_s } : {}),
      };
    case 'standard-webhooks-v1':
      return v.tolerance_s !== undefined ? { tolerance_seconds: v.tolerance_s } : {};
    default:
      return {};
  }
}

function bound(v: SignatureVector): BoundSource {
  if (!isSourceName(v.source)) throw new Error(`signatures.json names a source we do not have: ${v.source}`);
  return SOURCES[v.source].bind(settingsOf(v));
}

/** A secret of the right shape for the scheme (Standard Webhooks keys are base64) that is not the vector's. */
function wrongSecret(v: SignatureVector): string {
  return v.scheme === 'standard-webhooks-v1' ? `whsec_${Buffer.from('wrong-current-key-0123456789').toString('base64')}` : 'wrong-current';
}

function verify(v: SignatureVector, secrets: readonly string[]): boolean {
  return bound(v).verify(Buffer.from(v.body, 'utf8'), normalizeHeaders(v.headers), secrets, v.now ?? FIXED_NOW);
}

describeShared('signature vectors of ../shared/fixtures/signatures.json', () => {
  const vectors = readSignatureVectors();
  const rows = vectors.map((v, i) => [`#${i} ${v.source} (${v.origin}): ${v.note}`, v] as const);
  const valid = rows.filter(([, v]) => v.expected_valid);

  it('has valid and invalid vectors for every source we verify, and only sources we have', () => {
    const sources = new Set(vectors.map((v) => v.source));
    expect([...sources].sort()).toEqual(['alertmanager', 'github', 'grafana', 'opsgenie', 'pagerduty', 'sentry', 'standard-webhooks']);
    for (const source of sources) {
      expect(vectors.some((v) => v.source === source && v.expected_valid)).toBe(true);
      expect(vectors.some((v) => v.source === source && !v.expected_valid)).toBe(true);
    }
  });

  it.each(rows)('%s -> expected_valid', (_, v) => {
    expect(verify(v, [v.secret])).toBe(v.expected_valid);
  });

  it.each(valid)('%s -> still accepted when the secret is the previous one', (_, v) => {
    expect(verify(v, [wrongSecret(v), v.secret])).toBe(true);
  });

  it.each(valid)('%s -> rejected with only a wrong secret', (_, v) => {
    expect(verify(v, [wrongSecret(v)])).toBe(false);
  });
});
