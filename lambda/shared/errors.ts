/**
 * One error hierarchy for the bridge. Callers branch with `instanceof`, never on `name` strings.
 * Every error carries the lower-level failure as `cause`.
 */
export class BridgeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The request's signature or credential is missing or wrong. Answered 401, never retried. */
export class SignatureError extends BridgeError {}

/** The body cannot be read as the JSON object the source sends. Answered 400. */
export class PayloadError extends BridgeError {}

/**
 * The bridge is misconfigured (rules, environment, missing secret). Fails `npm start`, synth and
 * cold start; at request time it is answered 500 so that senders which retry will retry.
 */
export class ConfigError extends BridgeError {}

/**
 * The bridge secret cannot be used: missing, not readable by the function's role, not decryptable,
 * binary, or not the flat JSON object expected. The message names the secret and AWS's reason (which
 * for AccessDenied holds the role ARN and the account id): it is for the logs and `npm start` only.
 * A webhook is answered with a generic message, since the secret is read before the signature is checked.
 */
export class SecretConfigError extends ConfigError {}

export interface RateLimit {
  /** Requests allowed per period (`X-RateLimit-Limit`). */
  readonly limit?: number;
  /** Period length in seconds (`X-RateLimit-Period`). */
  readonly period?: number;
  /** Requests left in this period (`X-RateLimit-Remaining`). */
  readonly remaining?: number;
  /** Seconds until the limit resets (`X-RateLimit-Reset`; seconds, not an epoch). */
  readonly reset?: number;
  /** Name of the limit (`X-RateLimit-Name`). */
  readonly name?: string;
}

/** A call to Datadog failed. `retryable` is decided in lambda/datadog where the status is known. */
export class DatadogError extends BridgeError {
  /** HTTP status, or 0 when no response arrived (network error, timeout). */
  readonly status: number;
  readonly retryable: boolean;
  /** Human-readable error strings from the response body (both JSON:API and string shapes). */
  readonly errors: readonly string[];
  readonly rateLimit: RateLimit | undefined;
  /** True when the request may have reached Datadog (the outcome is unknown). */
  readonly ambiguous: boolean;
  /** The request's HTTP method, when Datadog answered: a read's (GET) limit may be a bucket of its own. */
  readonly method: string | undefined;

  constructor(
    message: string,
    options: {
      status: number;
      retryable: boolean;
      errors?: readonly string[];
      rateLimit?: RateLimit;
      ambiguous?: boolean;
      method?: string;
      cause?: unknown;
    },
  ) {
    super(message, { cause: options.cause });
    this.status = options.status;
    this.retryable = options.retryable;
    this.errors = options.errors ?? [];
    this.rateLimit = options.rateLimit;
    this.ambiguous = options.ambiguous ?? false;
    this.method = options.method;
  }
}

/** Handing an action to the retry queue or dead-letter store failed. Answered 503. */
export class QueueError extends BridgeError {}

/**
 * The bridge secret could not be read (Secrets Manager unreachable, throttled or failing) and no
 * value is cached yet. Transient: answered 503 so that senders retry. A secret that was read but is
 * wrong (not JSON, missing, access denied) is a ConfigError instead.
 */
export class SecretUnavailableError extends BridgeError {}

/**
 * The code of a source could not be loaded (in a Lambda bundle each source is a chunk loaded on its
 * first webhook). Answered 503: the sender sends it again.
 */
export class SourceUnavailableError extends BridgeError {}

/** A call to the dedup ledger (DynamoDB) failed: unreachable, throttled, or erroring. Answered 503. */
export class LedgerError extends BridgeError {}

/**
 * A service a source must reach to authenticate a request did not answer (Amazon SNS: the signing
 * certificate, the subscription confirmation). Transient: answered 503 so that the sender retries.
 */
export class AuthenticationUnavailableError extends BridgeError {}
