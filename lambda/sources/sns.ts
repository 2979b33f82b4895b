import { X509Certificate, createVerify, type KeyObject } from 'node:crypto';
import { AuthenticationUnavailableError } from '../shared/errors.js';
import * as z from '../shared/zod.js';
import type { OutboundFetch } from './types.js';

/**
 * Amazon SNS message signatures (HTTP/S subscriptions): the canonical string of the message's
 * fields, signed with SHA1withRSA (`SignatureVersion` 1) or SHA256withRSA (2) by the key of the
 * certificate at `SigningCertURL`, which must be on `https://sns.<region>.amazonaws.com[.cn]/`.
 * The certificate is fetched over HTTPS from that host only (TLS authenticates it) and cached.
 */


/** The three message types SNS posts to an HTTP/S endpoint. */
export const SNS_TYPES = ['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation'] as const;

export const snsMessageSchema = z.lazily(() =>
  z.looseObject({
    Type: z.enum(SNS_TYPES),
    MessageId: z.string().check(z.minLength(1)),
    TopicArn: z.string().check(z.minLength(1)),
    Message: z.string(),
    Timestamp: z.string().check(z.minLength(1)),
    SignatureVersion: z.enum(['1', '2']),
    Signature: z.string().check(z.minLength(1)),
    SigningCertURL: z.string(),
    Subject: z.optional(z.nullable(z.string())),
    SubscribeURL: z.optional(z.string()),
    Token: z.optional(z.string()),
    UnsubscribeURL: z.optional(z.string()),
  }),
);
export type SnsMessage = z.infer<ReturnType<typeof snsMessageSchema>>;

/** An SNS host of any AWS partition's public regions: `sns.<region>.amazonaws.com[.cn]`. */
const SNS_HOST = /^sns\.[a-z]{2}(?:-[a-z]+)+-\d\.amazonaws\.com(?:\.cn)?$/;

/**
 * The URL when it is `https://sns.<region>.amazonaws.com[.cn]/…` exactly: no user info, no port,
 * no other scheme or host (WHATWG parse, so `https://sns.x.amazonaws.com@evil/` and friends fail).
 */
export function snsUrl(value: string | undefined): URL | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' || url.username !== '' || url.password !== '' || url.port !== '' || !SNS_HOST.test(url.hostname)) return undefined;
  return url;
}

/** The string SNS signs: each present field's name and value on their own lines, in this order. */
export function canonicalString(message: SnsMessage): string {
  const fields = message.Type === 'Notification' ? (['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'] as const) : (['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'] as const);
  let out = '';
  for (const field of fields) {
    const value = message[field];
    if (typeof value === 'string') out += `${field}\n${value}\n`;
  }
  return out;
}

interface CachedCertificate {
  readonly key: KeyObject;
  /** Not valid before / after, ms since epoch. */
  readonly notBefore: number;
  readonly notAfter: number;
}

/** At most this many certificates are kept (SNS rotates them rarely; one per region in use). */
const CACHE_LIMIT = 16;
/** A certificate fetch that takes longer fails (the message is answered 401 and SNS retries it). */
export const CERT_FETCH_TIMEOUT_MS = 2000;

/** Signing certificates by URL, bounded; a failed fetch is not cached. */
export class CertificateCache {
  private readonly entries = new Map<string, Promise<CachedCertificate>>();

  constructor(private readonly limit = CACHE_LIMIT) {}

  get(url: URL, fetcher: OutboundFetch): Promise<CachedCertificate> {
    const key = url.href;
    const hit = this.entries.get(key);
    if (hit !== undefined) return hit;
    if (this.entries.size >= this.limit) this.entries.delete(this.entries.keys().next().value!);
    const pending = fetchCertificate(url, fetcher);
    this.entries.set(key, pending);
    pending.catch(() => this.entries.delete(key));
    return pending;
  }

  get size(): number {
    return this.entries.size;
  }
}

async function fetchCertificate(url: URL, fetcher: OutboundFetch): Promise<CachedCertificate> {
  const response = await fetcher(url, { method: 'GET', signal: AbortSignal.timeout(CERT_FETCH_TIMEOUT_MS) });
  if (!response.ok) throw new Error(`signing certificate answered ${response.status}`);
  const cert = new X509Certificate(await response.text());
  return { key: cert.publicKey, notBefore: Date.parse(cert.validFrom), notAfter: Date.parse(cert.validTo) };
}

/**
 * A signed message older than this is refused (a replay: a captured message sent again after the
 * ledger forgot its MessageId). SNS retries an HTTP/S delivery for at most an hour; the rest is margin
 * for clocks.
 */
export const MAX_MESSAGE_AGE_MS = 2 * 60 * 60 * 1000;

/** The process-wide certificate cache (a Lambda container keeps it across invocations). */
export const certificates = new CertificateCache();

/**
 * Why a message is refused, or undefined when its signature verifies. Throws
 * AuthenticationUnavailableError when the certificate cannot be fetched (answered 503: SNS retries).
 */
export async function snsSignatureProblem(message: SnsMessage, options: { readonly fetch: OutboundFetch; readonly nowMs: number; readonly cache?: CertificateCache }): Promise<string | undefined> {
  const certUrl = snsUrl(message.SigningCertURL);
  if (certUrl === undefined || !certUrl.pathname.endsWith('.pem')) return 'SigningCertURL is not an Amazon SNS certificate URL';
  // Before the certificate is fetched: a replay costs no fetch.
  const sent = Date.parse(message.Timestamp);
  if (!Number.isFinite(sent) || Math.abs(options.nowMs - sent) > MAX_MESSAGE_AGE_MS) return 'Timestamp is not within 2 hours of now';

  let cert: CachedCertificate;
  try {
    cert = await (options.cache ?? certificates).get(certUrl, options.fetch);
  } catch (error) {
    throw new AuthenticationUnavailableError(`the SNS signing certificate ${certUrl.href} could not be fetched`, { cause: error });
  }
  if (options.nowMs < cert.notBefore || options.nowMs > cert.notAfter) return 'the signing certificate is not valid now';
  const verifier = createVerify(message.SignatureVersion === '1' ? 'RSA-SHA1' : 'RSA-SHA256');
  verifier.update(canonicalString(message), 'utf8');
  let ok = false;
  try {
    ok = verifier.verify(cert.key, message.Signature, 'base64');
  } catch {
    ok = false;
  }
  return ok ? undefined : 'signature does not match';
}
