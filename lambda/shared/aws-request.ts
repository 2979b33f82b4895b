import { createHash } from 'node:crypto';
import { AWS_CONNECTION_TIMEOUT_MS, AWS_MAX_ATTEMPTS, AWS_REQUEST_TIMEOUT_MS, AWS_RETRY_BACKOFF_MAX_MS } from './budgets.js';
import { nodeHttpFetch, type HttpFetch, type HttpResponse } from './http.js';
import type { AwsCredentials, Sign } from './sigv4.js';

// The Lambda functions' AWS calls without the AWS SDK's clients: each call of a webhook is one
// request (GetSecretValue, DynamoDB's GetItem, PutItem, UpdateItem and Query, SQS SendMessage,
// S3 PutObject), and the clients' code (runtime configuration, endpoint rules, middleware stacks,
// schemas: about 400 KB in chunks) was most of a cold container's CPU before its first answer
// (`npm run bench`: cold start). What stays the SDK's: the SigV4 signer (lambda/shared/sigv4.ts);
// the requests are the JSON the SDK sends (its protocol for these services). Where the function's
// environment does not say how to reach AWS plainly (no credentials, FIPS, dual-stack, a partition
// other than aws, aws-cn, aws-us-gov), awsConfigFromEnv gives undefined and the SDK clients are used.

export interface AwsConfig {
  readonly region: string;
  readonly credentials: AwsCredentials;
  /** A local endpoint (AWS_ENDPOINT_URL_<SERVICE> or AWS_ENDPOINT_URL): every request goes there. */
  readonly endpoint?: string;
  /** @default nodeHttpFetch */
  readonly fetch?: HttpFetch;
}

/** An error answer of an AWS service: `name` is its error code (`ConditionalCheckFailedException`), as the SDK's errors have it. */
export class AwsServiceError extends Error {
  readonly status: number;
  constructor(name: string, message: string, status: number) {
    super(message);
    this.name = name;
    this.status = status;
  }
}

/** Throttling error codes the SDK's standard retry strategy tries again, after a longer wait. */
const THROTTLING_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'TransactionInProgressException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'LimitExceededException',
  'RequestThrottled',
  'SlowDown',
  'PriorRequestNotComplete',
]);
/** Transient error codes it tries again too (besides 5xx and no answer). */
const TRANSIENT_CODES = new Set(['RequestTimeout', 'RequestTimeoutException', 'InternalError', 'ServiceUnavailable']);
const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);

/** The DNS suffix of the region's partition, for the partitions this module builds endpoints for. */
export function dnsSuffix(region: string): string {
  return region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
}

/**
 * `https://<host>.<region>.<partition's suffix>/` for a service endpoint (`dynamodb`, `sqs`,
 * `secretsmanager`), or the configured local endpoint.
 */
export function serviceEndpoint(config: AwsConfig, host: string): URL {
  return config.endpoint !== undefined ? new URL(config.endpoint) : new URL(`https://${host}.${config.region}.${dnsSuffix(config.region)}/`);
}

/**
 * The function's AWS settings from its environment, as Lambda sets them (AWS_REGION, the role's
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN), and an endpoint from
 * AWS_ENDPOINT_URL_<SERVICE> or AWS_ENDPOINT_URL (`serviceKey`: `S3`, `DYNAMODB`, `SQS`,
 * `SECRETS_MANAGER`). Undefined where the SDK clients should be used: a credential or the region
 * missing, or an endpoint this module does not build (FIPS, dual-stack, another partition).
 */
export function awsConfigFromEnv(env: NodeJS.ProcessEnv, serviceKey: string): AwsConfig | undefined {
  const region = env['AWS_REGION'];
  const accessKeyId = env['AWS_ACCESS_KEY_ID'];
  const secretAccessKey = env['AWS_SECRET_ACCESS_KEY'];
  if (region === undefined || accessKeyId === undefined || secretAccessKey === undefined || region === '' || accessKeyId === '' || secretAccessKey === '') return undefined;
  const endpoint = env[`AWS_ENDPOINT_URL_${serviceKey}`] ?? env['AWS_ENDPOINT_URL'];
  if (endpoint === undefined || endpoint === '') {
    if (!/^(?:[a-z]{2}|us-gov|cn)-[a-z]+-\d+$/.test(region)) return undefined;
    if (env['AWS_USE_FIPS_ENDPOINT'] === 'true' || env['AWS_USE_DUALSTACK_ENDPOINT'] === 'true') return undefined;
  }
  const sessionToken = env['AWS_SESSION_TOKEN'];
  return {
    region,
    credentials: { accessKeyId, secretAccessKey, ...(sessionToken === undefined || sessionToken === '' ? {} : { sessionToken }) },
    ...(endpoint === undefined || endpoint === '' ? {} : { endpoint }),
  };
}

export interface SignedRequest {
  readonly url: URL;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
  /** What the error says it was doing: `DynamoDB GetItem`. */
  readonly what: string;
}

/**
 * Sends `request` signed for `service`, up to AWS_MAX_ATTEMPTS attempts (no answer, a timeout, 429,
 * 5xx, throttling: what the SDK's standard retry tries again), each within the SDK clients'
 * connection and request timeouts (lambda/shared/budgets.ts). The payload's SHA-256 is signed.
 * Resolves with the answer's status and text; an error answer rejects with AwsServiceError (its code
 * from `codeOf`), no answer with the network error.
 */
export function signedRequester(config: AwsConfig, service: string, codeOf: (status: number, text: string, answer: HttpResponse) => string | undefined): (request: SignedRequest) => Promise<string> {
  const send = config.fetch ?? nodeHttpFetch;
  let signer: Promise<Sign> | undefined;
  const sign: Sign = async (...args) => {
    signer ??= import('./sigv4.js')
      .then((m) => m.sigV4({ service, region: config.region, credentials: config.credentials }))
      .catch((error: unknown) => {
        signer = undefined;
        throw error;
      });
    return (await signer)(...args);
  };
  return async ({ url, method, headers, body, what }) => {
    const unsigned = { ...headers, host: url.host, 'x-amz-content-sha256': createHash('sha256').update(body).digest('hex') };
    for (let attempt = 1; ; attempt++) {
      const signed = await sign(url, method, unsigned, body);
      let answer: HttpResponse;
      let text: string;
      try {
        answer = await send(url.href, { method, headers: signed, body, signal: AbortSignal.timeout(AWS_CONNECTION_TIMEOUT_MS + AWS_REQUEST_TIMEOUT_MS) });
        text = await answer.text();
      } catch (error) {
        if (attempt >= AWS_MAX_ATTEMPTS) throw error;
        await beforeRetry(false);
        continue;
      }
      if (answer.ok) return text;
      const code = codeOf(answer.status, text, answer) ?? `Http${answer.status}`;
      const failure = new AwsServiceError(code, `${what} answered ${answer.status} ${code}${messageOf(text)}`, answer.status);
      const throttled = answer.status === 429 || THROTTLING_CODES.has(code);
      if (!throttled && !RETRYABLE_STATUS.has(answer.status) && !TRANSIENT_CODES.has(code)) throw failure;
      if (attempt >= AWS_MAX_ATTEMPTS) throw failure;
      await beforeRetry(throttled);
    }
  };
}

/** The SDK's standard retry's wait: full jitter on twice its base delay, 100 ms, or 500 ms after throttling (AWS_RETRY_BACKOFF_MAX_MS). */
function beforeRetry(throttled: boolean): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * (throttled ? AWS_RETRY_BACKOFF_MAX_MS : 2 * 100)));
}

/** `: <message>` of a JSON error body (`message` or `Message`), or nothing. */
function messageOf(text: string): string {
  try {
    const json = JSON.parse(text) as { message?: unknown; Message?: unknown };
    const message = json.message ?? json.Message;
    return typeof message === 'string' ? `: ${message.slice(0, 300)}` : '';
  } catch {
    return '';
  }
}

/** The error code of an AWS JSON protocol answer: `__type` (`com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException`) or the `x-amzn-errortype` header. */
export function jsonErrorCode(_status: number, text: string, answer: HttpResponse): string | undefined {
  let type: unknown = answer.headers.get('x-amzn-errortype') ?? undefined;
  try {
    const json = JSON.parse(text) as { __type?: unknown; code?: unknown };
    type = json.__type ?? json.code ?? type;
  } catch {
    // not JSON: the header, if any
  }
  if (typeof type !== 'string' || type === '') return undefined;
  return type.split('#').pop()!.split(':')[0];
}

/**
 * A client of an AWS JSON protocol service: `call('GetItem', input)` POSTs the input as the SDK
 * would (`X-Amz-Target: <prefix>.GetItem`) and resolves with the parsed answer. `replacer` and
 * `reviver` let DynamoDB's binary values (`B`, `BS`) travel as base64, as the SDK sends them.
 */
export function awsJsonClient(
  config: AwsConfig,
  options: {
    readonly service: string;
    readonly endpointHost: string;
    readonly targetPrefix: string;
    readonly jsonVersion: '1.0' | '1.1';
    readonly what: string;
    readonly headers?: Readonly<Record<string, string>>;
    readonly replacer?: (this: unknown, key: string, value: unknown) => unknown;
    readonly reviver?: (this: unknown, key: string, value: unknown) => unknown;
  },
): (operation: string, input: object, url?: URL) => Promise<unknown> {
  const request = signedRequester(config, options.service, jsonErrorCode);
  const endpoint = serviceEndpoint(config, options.endpointHost);
  return async (operation, input, url = endpoint) => {
    const text = await request({
      url,
      method: 'POST',
      headers: { 'content-type': `application/x-amz-json-${options.jsonVersion}`, 'x-amz-target': `${options.targetPrefix}.${operation}`, ...options.headers },
      body: Buffer.from(JSON.stringify(input, options.replacer), 'utf8'),
      what: `${options.what} ${operation}`,
    });
    if (text === '') return {};
    try {
      return JSON.parse(text, options.reviver) as unknown;
    } catch {
      // V8's SyntaxError quotes the text around the fault, which may be a secret: neither it nor the text is kept.
      throw new AwsServiceError('UnreadableAnswer', `${options.what} ${operation} answered 200 with a body that is not JSON (${text.length} characters)`, 200);
    }
  };
}
