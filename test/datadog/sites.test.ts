import { describe, expect, it } from 'vitest';
import { DATADOG_SITES, resolveApiBaseUrl } from '../../lambda/datadog/sites.js';
import { ConfigError } from '../../lambda/shared/errors.js';

describe('resolveApiBaseUrl', () => {
  it.each(DATADOG_SITES)('returns https://api.%s for that site', (site) => {
    expect(resolveApiBaseUrl({ site })).toBe(`https://api.${site}`);
  });

  it('knows the newer sites uk1 and us2 gov', () => {
    expect(DATADOG_SITES).toContain('uk1.datadoghq.com');
    expect(DATADOG_SITES).toContain('us2.ddog-gov.com');
  });

  it('defaults to datadoghq.com', () => {
    expect(resolveApiBaseUrl({})).toBe('https://api.datadoghq.com');
    expect(resolveApiBaseUrl({ site: undefined, apiUrl: '' })).toBe('https://api.datadoghq.com');
  });

  it.each([
    { apiUrl: 'http://127.0.0.1:8126', expected: 'http://127.0.0.1:8126' },
    { apiUrl: 'http://127.0.0.1:8126/', expected: 'http://127.0.0.1:8126' },
    { apiUrl: 'https://proxy.example.com/datadog//', expected: 'https://proxy.example.com/datadog' },
  ])('prefers DD_API_URL $apiUrl over the site, without trailing slashes', ({ apiUrl, expected }) => {
    expect(resolveApiBaseUrl({ site: 'datadoghq.eu', apiUrl })).toBe(expected);
  });

  it('throws a ConfigError naming every valid site for an unknown site', () => {
    const act = () => resolveApiBaseUrl({ site: 'datadoghq.co.uk' });

    expect(act).toThrow(ConfigError);
    expect(act).toThrow(/datadoghq\.co\.uk/);
    for (const site of DATADOG_SITES) expect(act).toThrow(site);
  });

  it.each(['not a url', 'ftp://example.com'])('throws a ConfigError for DD_API_URL %s', (apiUrl) => {
    expect(() => resolveApiBaseUrl({ apiUrl })).toThrow(ConfigError);
  });
});
