// SigV4 for the functions' signed AWS requests (lambda/shared/aws-request.ts), loaded by their first
// request: the SDK's own signer and request type, which the chunks of the AWS SDK clients share.
import { HttpRequest } from '@smithy/core/protocols';
import { Hash } from '@smithy/core/serde';
import { SignatureV4 } from '@smithy/signature-v4';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface SignerOptions {
  /** The signing name: `s3`, `dynamodb`, `sqs`, `secretsmanager`. */
  readonly service: string;
  readonly region: string;
  readonly credentials: AwsCredentials;
}

/** The request to send: `headers` with the SigV4 `authorization`, `x-amz-date` and (with a session token) `x-amz-security-token` added. */
export type Sign = (url: URL, method: string, headers: Readonly<Record<string, string>>, body: Uint8Array, signingDate?: Date) => Promise<Record<string, string>>;

export function sigV4(options: SignerOptions): Sign {
  // S3 signs the path as sent (encoded once), not encoded again as other services do.
  const signer = new SignatureV4({ service: options.service, region: options.region, credentials: options.credentials, sha256: Hash.bind(null, 'sha256'), uriEscapePath: options.service !== 's3' });
  return async (url, method, headers, body, signingDate) => {
    const query = Object.fromEntries(url.searchParams);
    const request = new HttpRequest({ method, protocol: url.protocol, hostname: url.hostname, ...(url.port === '' ? {} : { port: Number(url.port) }), path: url.pathname, query, headers: { ...headers }, body });
    return (await signer.sign(request, signingDate === undefined ? {} : { signingDate })).headers;
  };
}
