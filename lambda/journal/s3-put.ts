import { AwsServiceError, awsConfigFromEnv, dnsSuffix, signedRequester, type AwsConfig } from '../shared/aws-request.js';
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

/** A key segment as S3 canonicalizes it for SigV4 (RFC 3986: `!'()*` escaped too, which encodeURIComponent leaves). */
const uriEscape = (segment: string): string => encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** S3's error code in its XML answer. */
function s3ErrorCode(_status: number, text: string): string | undefined {
  return /<Code>([^<]{1,100})<\/Code>/.exec(text)?.[1];
}

/**
 * PutObject as a signed request (lambda/shared/aws-request.ts) without the SDK's S3 client: the
 * archive put is the only S3 call of a webhook, and the client's code (its schemas, endpoint rules,
 * checksum and S3 middleware, about 130 KB) cost a cold container about 25 ms of CPU before its
 * first answer (`npm run bench`). Virtual-hosted on AWS (path-style for a bucket name with a dot,
 * which TLS names as one label), path-style on a local endpoint. Failures are ArchiveError with
 * S3's status and error code.
 */
export function signedS3Put(bucket: string, config: AwsConfig): S3Put {
  const request = signedRequester(config, 's3', s3ErrorCode);
  const suffix = dnsSuffix(config.region);
  const base =
    config.endpoint !== undefined
      ? new URL(`${config.endpoint.replace(/\/+$/, '')}/${bucket}/`)
      : bucket.includes('.')
        ? new URL(`https://s3.${config.region}.${suffix}/${bucket}/`)
        : new URL(`https://${bucket}.s3.${config.region}.${suffix}/`);
  return async (input) => {
    const url = new URL(input.Key.split('/').map(uriEscape).join('/'), base);
    const headers: Record<string, string> = { 'content-type': input.ContentType };
    for (const [name, value] of Object.entries(input.Metadata ?? {})) headers[`x-amz-meta-${name.toLowerCase()}`] = value;
    const body = typeof input.Body === 'string' ? Buffer.from(input.Body, 'utf8') : input.Body;
    try {
      await request({ url, method: 'PUT', headers, body, what: `S3 PutObject ${input.Key}` });
    } catch (error) {
      throw new ArchiveError(error instanceof AwsServiceError ? error.message : `S3 PutObject ${input.Key} got no answer: ${(error as Error).message}`, { cause: error });
    }
  };
}

/** The signed put from a Lambda function's environment (awsConfigFromEnv); undefined where the SDK's S3 client puts. */
export function signedS3PutFromEnv(bucket: string, env: NodeJS.ProcessEnv): S3Put | undefined {
  const config = awsConfigFromEnv(env, 'S3');
  return config === undefined ? undefined : signedS3Put(bucket, config);
}
