import { randomBytes } from 'node:crypto';
import * as z from '../shared/zod.js';
import { alertmanager } from '../sources/alertmanager.js';
import { hmacSha256 } from '../sources/crypto.js';
import { credentialHeader } from '../sources/fields.js';
import { generic, genericHeaderName } from '../sources/generic.js';
import { github } from '../sources/github.js';
import { grafana } from '../sources/grafana.js';
import { opsgenie } from '../sources/opsgenie.js';
import { pagerduty } from '../sources/pagerduty.js';
import { sentry } from '../sources/sentry.js';
import { standardWebhooks, standardWebhooksKey, standardWebhooksSignature } from '../sources/standard-webhooks.js';
import type { SourceName } from '../sources/types.js';

export interface SignOptions {
  readonly source: SourceName;
  /** The source's settings, raw (`{}` gets the defaults) or already parsed. */
  readonly settings?: object;
  /** The secret value (token, HMAC secret, `user:pass` for basic). */
  readonly secret: string;
  /** The exact bytes that will be sent. */
  readonly body: string | Buffer;
  /** Headers to send along (the sample's `.headers.json`); signature headers are added to a copy. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Signing time, Unix seconds (timestamped schemes). @default now */
  readonly now?: number;
}

/** Sets `name` on `out`, replacing any header of the same name in another case. */
function setHeader(out: Record<string, string>, name: string, value: string): void {
  for (const key of Object.keys(out)) if (key.toLowerCase() === name.toLowerCase()) delete out[key];
  out[name] = value;
}

function getHeader(headers: Readonly<Record<string, string>>, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name.toLowerCase()) return value;
  return undefined;
}

const hex = (secret: string | Buffer, ...parts: (string | Buffer)[]): string => hmacSha256(secret, ...parts).toString('hex');

/**
 * Returns the headers a real sender would send with `body`: the given headers plus the signature or
 * credential headers of `source`, built with `secret` and the source's settings (defaults filled by
 * its settings schema). Used by the tests, `npm run send` and the benchmark.
 */
export function signRequest(options: SignOptions): Record<string, string> {
  const { source, secret, body } = options;
  const raw = options.settings ?? {};
  const now = Math.floor(options.now ?? Date.now() / 1000);
  const out: Record<string, string> = { ...options.headers };
  switch (source) {
    case 'github':
      z.parse(github.settingsSchema(), raw);
      setHeader(out, 'X-Hub-Signature-256', `sha256=${hex(secret, body)}`);
      break;
    case 'pagerduty':
      z.parse(pagerduty.settingsSchema(), raw);
      setHeader(out, 'X-PagerDuty-Signature', `v1=${hex(secret, body)}`);
      break;
    case 'sentry':
      z.parse(sentry.settingsSchema(), raw);
      setHeader(out, 'Sentry-Hook-Signature', hex(secret, body));
      break;
    case 'grafana': {
      const settings = z.parse(grafana.settingsSchema(), raw);
      if (settings.timestamp_header === undefined) {
        setHeader(out, settings.signature_header, hex(secret, body));
      } else {
        setHeader(out, settings.timestamp_header, String(now));
        setHeader(out, settings.signature_header, hex(secret, `${now}:`, body));
      }
      break;
    }
    case 'standard-webhooks': {
      z.parse(standardWebhooks.settingsSchema(), raw);
      const key = standardWebhooksKey(secret);
      if (key === undefined) throw new Error('a Standard Webhooks secret must be base64 (optionally prefixed with whsec_)');
      const id = getHeader(out, 'webhook-id') ?? `msg_${randomBytes(12).toString('hex')}`;
      setHeader(out, 'webhook-id', id);
      setHeader(out, 'webhook-timestamp', String(now));
      setHeader(out, 'webhook-signature', standardWebhooksSignature(key, id, String(now), body));
      break;
    }
    case 'alertmanager': {
      const settings = z.parse(alertmanager.settingsSchema(), raw);
      setHeader(out, 'Authorization', credentialHeader(settings.scheme, secret));
      break;
    }
    case 'opsgenie': {
      const settings = z.parse(opsgenie.settingsSchema(), raw);
      setHeader(out, settings.header, `${settings.prefix}${secret}`);
      break;
    }
    case 'generic': {
      const settings = z.parse(generic.settingsSchema(), raw);
      const name = genericHeaderName(settings);
      if (settings.scheme === 'hmac-sha256') {
        const digest = hmacSha256(secret, body).toString(settings.encoding);
        setHeader(out, name, `${settings.prefix}${digest}`);
      } else {
        setHeader(out, name, credentialHeader(settings.scheme, secret));
      }
      break;
    }
  }
  return out;
}
