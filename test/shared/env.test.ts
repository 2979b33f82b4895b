import { describe, expect, it } from 'vitest';
import { ENV } from '../../lambda/shared/contract.js';
import { parseEnv, parseLambdaEnv } from '../../lambda/shared/env.js';
import { ConfigError } from '../../lambda/shared/errors.js';

const LAMBDA = {
  [ENV.secretId]: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:bridge',
  [ENV.retryQueueUrl]: 'https://sqs.us-east-1.amazonaws.com/000000000000/retry',
  [ENV.dlqUrl]: 'https://sqs.us-east-1.amazonaws.com/000000000000/dlq',
  [ENV.ledgerTable]: 'ledger',
};

describe('the environment', () => {
  it('is parsed with its defaults; what only Lambda needs is optional locally', () => {
    const env = parseEnv({});
    expect(env).toMatchObject({ CASE_BRIDGE_MAX_BODY_BYTES: 1024 * 1024, CASE_BRIDGE_DRY_RUN: false, DD_TIMEOUT_MS: 5000, PORT: 3000, LOG_LEVEL: 'info' });
    expect(env.CASE_BRIDGE_RETRY_QUEUE_URL).toBeUndefined();
  });

  it('in Lambda requires the secret, both queues and the ledger table the stack sets', () => {
    expect(parseLambdaEnv(LAMBDA)).toMatchObject(LAMBDA);
    expect(() => parseLambdaEnv({ ...LAMBDA, [ENV.ledgerTable]: undefined, [ENV.dlqUrl]: undefined })).toThrow(new ConfigError('CASE_BRIDGE_DLQ_URL, CASE_BRIDGE_LEDGER_TABLE are not set'));
    expect(() => parseLambdaEnv({ ...LAMBDA, [ENV.secretId]: undefined })).toThrow('CASE_BRIDGE_SECRET_ID is not set');
  });

  it('takes DD_TIMEOUT_MS up to the 5 s every claim and guard is sized for, and refuses a longer one, saying why', () => {
    expect(parseEnv({ DD_TIMEOUT_MS: '5000' }).DD_TIMEOUT_MS).toBe(5000);
    expect(parseEnv({ DD_TIMEOUT_MS: '500' }).DD_TIMEOUT_MS).toBe(500);
    // A 20 s call would outlive the outbox's claim: another worker would take the work over and send it again.
    expect(() => parseEnv({ DD_TIMEOUT_MS: '20000' })).toThrow(/DD_TIMEOUT_MS: .*at most 5000/);
  });

  it('refuses a queue URL that is not a URL', () => {
    expect(() => parseLambdaEnv({ ...LAMBDA, [ENV.retryQueueUrl]: 'retry' })).toThrow(/CASE_BRIDGE_RETRY_QUEUE_URL/);
  });
});
