import * as z from '../shared/zod.js';
import { ConfigError } from '../shared/errors.js';

/** Datadog sites (`DD_SITE`); the API host is `api.<site>`. */
export const DATADOG_SITES = [
  'datadoghq.com',
  'us3.datadoghq.com',
  'us5.datadoghq.com',
  'ap1.datadoghq.com',
  'ap2.datadoghq.com',
  'uk1.datadoghq.com',
  'datadoghq.eu',
  'ddog-gov.com',
  'us2.ddog-gov.com',
] as const;
export const DatadogSiteSchema = z.enum(DATADOG_SITES);
export type DatadogSite = z.infer<typeof DatadogSiteSchema>;

/** `DD_API_URL` wins (tests, proxies); else `https://api.<DD_SITE>`; default site datadoghq.com. */
export function resolveApiBaseUrl(options: { site?: string | undefined; apiUrl?: string | undefined }): string {
  if (options.apiUrl !== undefined && options.apiUrl !== '') {
    let url: URL;
    try {
      url = new URL(options.apiUrl);
    } catch (cause) {
      throw new ConfigError(`DD_API_URL is not a URL: ${options.apiUrl}`, { cause });
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(`DD_API_URL must be http(s): ${options.apiUrl}`);
    return url.toString().replace(/\/+$/, '');
  }
  const site = DatadogSiteSchema.safeParse(options.site ?? 'datadoghq.com');
  if (!site.success) {
    throw new ConfigError(`DD_SITE "${options.site}" is not a Datadog site; use one of ${DATADOG_SITES.join(', ')}`, { cause: site.error });
  }
  return `https://api.${site.data}`;
}
