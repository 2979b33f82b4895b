import { readFile } from 'node:fs/promises';
import { awsConfigFromEnv, awsJsonClient, type AwsConfig } from './aws-request.js';
import { AWS_CLIENT_BOUNDS } from './budgets.js';
import * as z from './zod.js';
import { ConfigError, SecretConfigError, SecretUnavailableError } from './errors.js';

/** The bridge secret: one flat JSON key/value object (the Secrets Manager console's key/value form). */
export const SecretBagSchema = z.record(z.string(), z.string());
export type SecretBag = Readonly<Record<string, string>>;

export interface SecretsProvider {
  /** The cached secret, loaded on first use and reloaded when older than the TTL. */
  get(): Promise<SecretBag>;
  /** Reloads now (after Datadog answered 401/403: the keys may have been rotated). */
  refresh(): Promise<SecretBag>;
}

export type SecretLoader = () => Promise<string>;

/** A rotated value is picked up within this time. */
export const SECRET_TTL_MS = 5 * 60 * 1000;

/** Where a JSON text stops being JSON: 1-based line and column, 0-based offset (never any of the text). */
export interface JsonFault {
  readonly line: number;
  readonly column: number;
  readonly offset: number;
}

const JsonFaultSchema = z.object({ line: z.number(), column: z.number(), offset: z.number() });

/**
 * The position of the first syntax error in `text`, from a JSON parser that reports locations
 * (momoa). V8's own SyntaxError quotes the text around the fault (`Unexpected token 's', "{"A": supersecre"...`),
 * and so do momoa's messages (`Unexpected identifier 'supersecret' found.`): neither is shown or kept
 * as a cause. Undefined when the locating parser finds no fault. momoa is loaded here only (a chunk
 * of its own in the Lambda bundle): a secret that parses never loads it.
 */
export async function locateJsonFault(text: string): Promise<JsonFault | undefined> {
  // A locator that cannot load only costs the position: the secret is still reported as not JSON.
  const momoa = await import('@humanwhocodes/momoa').catch(() => undefined);
  if (momoa === undefined) return undefined;
  try {
    momoa.parse(text, { mode: 'json', ranges: false, tokens: false });
    return undefined;
  } catch (error) {
    const at = JsonFaultSchema.safeParse(error);
    return at.success ? at.data : undefined;
  }
}

/**
 * Parses the bridge secret. Every error names a position or key, never a value: the text is a secret,
 * so neither the SyntaxError nor the zod error (which may quote input) is kept as the cause.
 */
export async function parseSecretBag(text: string, origin: string): Promise<SecretBag> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    const fault = await locateJsonFault(text);
    const where = fault ? ` at line ${fault.line}, column ${fault.column} (offset ${fault.offset})` : '';
    throw new SecretConfigError(`${origin} is not JSON${where} (expected a flat key/value object)`);
  }
  const parsed = SecretBagSchema.safeParse(json);
  if (!parsed.success) {
    const keys = parsed.error.issues.map((i) => i.path.join('.')).filter((k) => k !== '');
    throw new SecretConfigError(`${origin} must be a flat JSON object of string values${keys.length ? ` (bad keys: ${keys.join(', ')})` : ''}`);
  }
  return Object.freeze({ ...parsed.data });
}

/**
 * Caches the secret per container. Concurrent callers share one load. When a reload fails and a
 * value is cached, the cached value is kept (and the failure reported through `onError`).
 */
export function createSecretsProvider(options: {
  load: SecretLoader;
  origin: string;
  ttlMs?: number;
  now?: () => number;
  onError?: (error: unknown) => void;
}): SecretsProvider {
  const ttl = options.ttlMs ?? SECRET_TTL_MS;
  const now = options.now ?? Date.now;
  let cached: { bag: SecretBag; at: number } | undefined;
  let inflight: Promise<SecretBag> | undefined;

  const reload = (): Promise<SecretBag> => {
    inflight ??= (async () => {
      try {
        const bag = await parseSecretBag(await options.load(), options.origin);
        cached = { bag, at: now() };
        return bag;
      } catch (error) {
        if (cached) {
          options.onError?.(error);
          return cached.bag;
        }
        // Nothing cached yet: a failed read (network, throttling, a 5xx) is transient (answered 503);
        // the loaders turn what retrying will not fix into a SecretConfigError.
        if (error instanceof SecretConfigError) throw error;
        if (error instanceof ConfigError) throw new SecretConfigError(error.message, { cause: error });
        throw new SecretUnavailableError(`cannot read the bridge secret (${options.origin}): ${(error as Error).message}`, { cause: error });
      } finally {
        inflight = undefined;
      }
    })();
    return inflight;
  };

  return {
    get: () => (cached && now() - cached.at < ttl ? Promise.resolve(cached.bag) : reload()),
    refresh: reload,
  };
}

/** Locally: the same JSON from a file (`CASE_BRIDGE_SECRETS_FILE`); a missing or unreadable file is a SecretConfigError. */
export function fileSecretLoader(path: string): SecretLoader {
  return async () => {
    try {
      return await readFile(path, 'utf8');
    } catch (cause) {
      throw new SecretConfigError(`cannot read the secrets file ${path}: ${(cause as Error).message}`, { cause });
    }
  };
}

/**
 * Secrets Manager errors that retrying will not fix: the secret is missing, scheduled for deletion,
 * not readable by the function's role, or its KMS key cannot decrypt it. Anything else (network,
 * throttling, InternalServiceError) is transient.
 */
const PERMANENT_SECRET_ERRORS = new Set(['ResourceNotFoundException', 'AccessDeniedException', 'DecryptionFailure', 'InvalidRequestException', 'InvalidParameterException']);

/** The secret's text from a GetSecretValue call: a permanent error or a binary secret is a SecretConfigError. */
async function secretStringOf(secretId: string, get: () => Promise<{ SecretString?: string | undefined }>): Promise<string> {
  let out: { SecretString?: string | undefined };
  try {
    out = await get();
  } catch (cause) {
    const name = (cause as Error).name;
    if (PERMANENT_SECRET_ERRORS.has(name)) throw new SecretConfigError(`secret ${secretId}: ${name}: ${(cause as Error).message}`, { cause });
    throw cause;
  }
  if (out.SecretString === undefined) throw new SecretConfigError(`secret ${secretId} has no SecretString (binary secrets are not supported)`);
  return out.SecretString;
}

/**
 * In AWS: `GetSecretValue` on the bridge secret (name or ARN), with the SDK's client (bundled, loaded
 * by the first read). `clientConfig` is for tests (an endpoint, one attempt).
 */
export function secretsManagerLoader(secretId: string, clientConfig: import('@aws-sdk/client-secrets-manager').SecretsManagerClientConfig = {}): SecretLoader {
  let client: import('@aws-sdk/client-secrets-manager').SecretsManagerClient | undefined;
  return async () => {
    const sdk = await import('./sdk-secrets-manager.js');
    client ??= new sdk.SecretsManagerClient({ ...AWS_CLIENT_BOUNDS, ...clientConfig });
    const c = client;
    return secretStringOf(secretId, () => c.send(new sdk.GetSecretValueCommand({ SecretId: secretId })));
  };
}

/**
 * `GetSecretValue` as a signed request (lambda/shared/aws-request.ts: the JSON the SDK's client
 * sends, `X-Amz-Target: secretsmanager.GetSecretValue`), without the SDK's client.
 */
export function signedSecretLoader(secretId: string, config: AwsConfig): SecretLoader {
  const call = awsJsonClient(config, { service: 'secretsmanager', endpointHost: 'secretsmanager', targetPrefix: 'secretsmanager', jsonVersion: '1.1', what: 'Secrets Manager' });
  return () => secretStringOf(secretId, async () => z.parse(getSecretValueAnswer(), await call('GetSecretValue', { SecretId: secretId })));
}

const getSecretValueAnswer = z.lazily(() => z.object({ SecretString: z.optional(z.string()) }));

/** The Lambda functions' loader: signed from their environment (awsConfigFromEnv), or the SDK client's where it names no plain AWS credentials. */
export function lambdaSecretLoader(secretId: string, env: NodeJS.ProcessEnv = process.env): SecretLoader {
  const config = awsConfigFromEnv(env, 'SECRETS_MANAGER');
  return config === undefined ? secretsManagerLoader(secretId) : signedSecretLoader(secretId, config);
}

/** Current value first, then `<key>_PREVIOUS` (rotation without downtime). Empty values are ignored. */
export function secretValues(bag: SecretBag, key: string): string[] {
  return [bag[key], bag[`${key}_PREVIOUS`]].filter((v): v is string => v !== undefined && v !== '');
}
