// SigV4 for the archive's signed put (lambda/journal/s3-put.ts), loaded by its first put: the SDK's
// own signer and request type, which the chunks of the AWS SDK clients share.
import { HttpRequest } from '@smithy/core/protocols';
import { Hash } from '@smithy/core/serde';
import { SignatureV4 } from '@smithy/signature-v4';

export interface S3SignerOptions {
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
}

/** The request to send: `headers` with the SigV4 `authorization`, `x-amz-date` and (with a session token) `x-amz-security-token` added. */
export type SignS3 = (url: URL, method: string, headers: Readonly<Record<string, string>>, body: Uint8Array) => Promise<Record<string, string>>;

export function s3Signer(options: S3SignerOptions): SignS3 {
  // S3 signs the path as sent (encoded once), not encoded again as other services do.
  const signer = new SignatureV4({ service: 's3', region: options.region, credentials: options.credentials, sha256: Hash.bind(null, 'sha256'), uriEscapePath: false });
  return async (url, method, headers, body) => {
    const request = new HttpRequest({ method, protocol: url.protocol, hostname: url.hostname, ...(url.port === '' ? {} : { port: Number(url.port) }), path: url.pathname, headers: { ...headers }, body });
    return (await signer.sign(request)).headers;
  };
}
