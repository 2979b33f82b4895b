import { createHash } from 'node:crypto';
import { AWS_CONNECTION_TIMEOUT_MS, AWS_MAX_ATTEMPTS, AWS_REQUEST_TIMEOUT_MS } from '../shared/budgets.js';
import { nodeHttpFetch, type HttpFetch } from '../shared/http.js';
import type { SignS3 } from './s3-signer.js';
import { ArchiveError } from './types.js';

/** One PutObject of the raw archive: a delivery's bytes, or its headers beside it. */
export interface S3PutInput {
  readonly Key: string;
  readonly Body: Uint8Array | string;
  readonly ContentType: string;
  /** User metadata (`x-amz-meta-<name>`), ASCII values. */
  readonly Metadata?: Readonly<Record<string, string>>;
}

export type S3Put = (input: S3PutInput) => Promise<void>;

export interface SignedPutOptions {
  readonly bucket: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  /** An S3-compatible endpoint (a local one), addressed path-style: `<endpoint>/<bucket>/<key>`. @default `https://<bucket>.s3.<region>.amazonaws.com` */
  readonly endpoint?: string;
  /** @default nodeHttpFetch */
  readonly fetch?: HttpFetch;
}

/** Statuses and S3 error codes a second attempt may get past (what the SDK's standard retry retries). */
const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);
const RETRYABLE_CODES = new Set(['RequestTimeout', 'RequestTimeTooSkewed', 'SlowDown', 'InternalError', 'ServiceUnavailable']);

/**
 * PutObject signed with SigV4 (the SDK's own signer, @smithy/signature-v4, lambda/journal/s3-signer.ts) and sent over Node's https,
 * without the SDK's S3 client: the archive put is the only S3 call of a webhook, and the client's
 * code (its schemas, endpoint rules, checksum and S3 middleware, about 130 KB) cost a cold container
 * about 25 ms of CPU before its first answer (`npm run bench`). The payload's SHA-256 is signed
 * (`x-amz-content-sha256`), so S3 refuses a body changed on the way. Up to AWS_MAX_ATTEMPTS attempts
 * (a network failure, a timeout, 429, 5xx, SlowDown), each within the SDK clients' connection and
 * request timeouts. Failures are ArchiveError with S3's status and error code.
 */
export function signedS3Put(options: SignedPutOptions): S3Put {
  const { bucket, region } = options;
  let signer: Promise<SignS3> | undefined;
  const sign: SignS3 = async (...args) => {
    signer ??= import('./s3-signer.js')
      .then((m) => m.s3Signer({ region, credentials: options.credentials }))
      .catch((error: unknown) => {
        signer = undefined;
        throw error;
      });
    return (await signer)(...args);
  };
  const send = options.fetch ?? nodeHttpFetch;
  // Virtual-hosted style (path-style is deprecated on AWS), unless the name has a dot (TLS names one label).
  const base =
    options.endpoint !== undefined
      ? new URL(`${options.endpoint.replace(/\/+$/, '')}/${bucket}/`)
      : bucket.includes('.')
        ? new URL(`https://s3.${region}.${dnsSuffix(region)}/${bucket}/`)
        : new URL(`https://${bucket}.s3.${region}.${dnsSuffix(region)}/`);

  return async (input) => {
    const url = new URL(input.Key.split('/').map(encodeURIComponent).join('/'), base);
    const body = typeof input.Body === 'string' ? Buffer.from(input.Body, 'utf8') : input.Body;
    const headers: Record<string, string> = {
      host: url.host,
      'content-type': input.ContentType,
      'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'),
    };
    for (const [name, value] of Object.entries(input.Metadata ?? {})) headers[`x-amz-meta-${name.toLowerCase()}`] = value;
    for (let attempt = 1; ; attempt++) {
      const signed = await sign(url, 'PUT', headers, body);
      let failure: ArchiveError;
      try {
        const answer = await send(url.href, { method: 'PUT', headers: signed, body, signal: AbortSignal.timeout(AWS_CONNECTION_TIMEOUT_MS + AWS_REQUEST_TIMEOUT_MS) });
        const text = await answer.text();
        if (answer.ok) return;
        const code = /<Code>([^<]{1,100})<\/Code>/.exec(text)?.[1];
        failure = new ArchiveError(`S3 PutObject ${input.Key} answered ${answer.status}${code === undefined ? '' : ` ${code}`}`);
        if (!RETRYABLE_STATUS.has(answer.status) && (code === undefined || !RETRYABLE_CODES.has(code))) throw failure;
      } catch (error) {
        if (error instanceof ArchiveError) throw error;
        failure = new ArchiveError(`S3 PutObject ${input.Key} got no answer: ${(error as Error).message}`, { cause: error });
      }
      if (attempt >= AWS_MAX_ATTEMPTS) throw failure;
    }
  };
}

/** The DNS suffix of the region's partition, for the partitions whose S3 endpoints are known here. */
function dnsSuffix(region: string): string {
  return region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
}

/**
 * The signed put from a Lambda function's environment: the region and the function role's
 * credentials Lambda sets (AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN),
 * an endpoint from AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL. Undefined, so the SDK's S3 client is
 * used, when a credential or the region is missing, or when the endpoint is one this module does
 * not build (FIPS, dual-stack, a partition other than aws, aws-cn and aws-us-gov).
 */
export function signedS3PutFromEnv(bucket: string, env: NodeJS.ProcessEnv): S3Put | undefined {
  const region = env['AWS_REGION'];
  const accessKeyId = env['AWS_ACCESS_KEY_ID'];
  const secretAccessKey = env['AWS_SECRET_ACCESS_KEY'];
  if (region === undefined || accessKeyId === undefined || secretAccessKey === undefined || region === '' || accessKeyId === '' || secretAccessKey === '') return undefined;
  const endpoint = env['AWS_ENDPOINT_URL_S3'] ?? env['AWS_ENDPOINT_URL'];
  if (endpoint === undefined) {
    if (!/^(?:[a-z]{2}|us-gov|cn)-[a-z]+-\d+$/.test(region)) return undefined;
    if (env['AWS_USE_FIPS_ENDPOINT'] === 'true' || env['AWS_USE_DUALSTACK_ENDPOINT'] === 'true') return undefined;
  }
  const sessionToken = env['AWS_SESSION_TOKEN'];
  return signedS3Put({ bucket, region, credentials: { accessKeyId, secretAccessKey, ...(sessionToken === undefined || sessionToken === '' ? {} : { sessionToken }) }, ...(endpoint === undefined ? {} : { endpoint }) });
}
