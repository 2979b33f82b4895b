import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalSqs, type LocalSqs } from '../../lambda/local/fauxqs.js';
import { awsClientConfig, endpointFor, isLocalEndpoint } from '../../scripts/aws-local.js';
import { queueDepth, receive } from '../support/fauxqs.js';

const run = promisify(execFile);

/** The environment of a machine with no AWS configuration at all. */
function bareEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  return { ...env, AWS_CONFIG_FILE: '/nonexistent/config', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials', AWS_EC2_METADATA_DISABLED: 'true' };
}

describe('npm run redrive against the local emulator, as npm start prints it', () => {
  let sqs: LocalSqs;
  beforeAll(async () => {
    sqs = await startLocalSqs();
  });
  afterAll(async () => {
    await sqs.close();
  });

  it('moves dead-lettered cases back with no AWS region or credentials, and prints no SDK warning', { timeout: 60_000 }, async () => {
    await sqs.client.send(new SendMessageCommand({ QueueUrl: sqs.dlqUrl, MessageBody: '{"dead":"lettered"}' }));

    const { stdout, stderr } = await run(join('node_modules', '.bin', 'tsx'), ['scripts/redrive.ts', '--copy', '--dlq-url', sqs.dlqUrl, '--destination-url', sqs.retryQueueUrl], { env: bareEnv(), timeout: 30_000 });

    expect(stdout).toContain(`moved 1 message(s) from ${sqs.dlqUrl} to ${sqs.retryQueueUrl}`);
    expect(stderr).not.toMatch(/NodeDeprecationWarning|AWS SDK for JavaScript/);
    expect((await queueDepth(sqs.client, sqs.dlqUrl)).visible).toBe(0);
    expect((await receive(sqs.client, sqs.retryQueueUrl)).map((m) => m.Body)).toEqual(['{"dead":"lettered"}']);
  });
});

describe('scripts/aws-local.ts', () => {
  it('knows a local endpoint, including the emulator\'s *.localhost queue hosts', () => {
    for (const url of ['http://127.0.0.1:4566', 'http://localhost:8000', 'http://[::1]:9', 'http://sqs.us-east-1.localhost:4566/000000000000/q']) expect(isLocalEndpoint(url), url).toBe(true);
    for (const url of ['https://sqs.eu-west-1.amazonaws.com', 'not a url', undefined]) expect(isLocalEndpoint(url), String(url)).toBe(false);
  });

  it('takes the endpoint of a local queue URL when none is given, and never guesses one for AWS', () => {
    expect(endpointFor(undefined, 'http://sqs.us-east-1.localhost:4566/000000000000/q')).toBe('http://127.0.0.1:4566');
    expect(endpointFor('http://127.0.0.1:1', 'http://sqs.us-east-1.localhost:4566/q')).toBe('http://127.0.0.1:1');
    expect(endpointFor(undefined, 'https://sqs.eu-west-1.amazonaws.com/123456789012/q')).toBeUndefined();
  });

  it('gives a local endpoint a region and dummy credentials, and AWS only what the user set', () => {
    expect(awsClientConfig({ endpoint: 'http://127.0.0.1:1' }, {})).toEqual({ endpoint: 'http://127.0.0.1:1', region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    expect(awsClientConfig({ endpoint: 'http://127.0.0.1:1' }, { AWS_REGION: 'eu-west-1' }).region).toBe('eu-west-1');
    expect(awsClientConfig({}, {})).toEqual({});
    expect(awsClientConfig({}, { AWS_DEFAULT_REGION: 'eu-central-1' })).toEqual({ region: 'eu-central-1' });
    expect(awsClientConfig({ region: 'ap-southeast-2' }, { AWS_REGION: 'eu-west-1' })).toEqual({ region: 'ap-southeast-2' });
  });
});
