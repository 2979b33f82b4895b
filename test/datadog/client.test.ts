import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDatadogClient, describeNetworkFailure, parseRateLimit, type DatadogClient, type DatadogKeys } from '../../lambda/datadog/client.js';
import type { CaseCreateRequest } from '../../lambda/datadog/schema.js';
import { DatadogError } from '../../lambda/shared/errors.js';
import { startDatadogServer, type DatadogTestServer } from '../../lambda/local/datadog-server.js';

const KEYS: DatadogKeys = { apiKey: 'test-api-key', appKey: 'test-app-key' };

const REQUEST: CaseCreateRequest = {
  data: {
    type: 'case',
    attributes: {
      title: 'Workflow CI failed on main',
      type_id: '00000000-0000-0000-0000-000000000001',
      priority: 'P2',
      description: 'run 30433642',
      custom_attributes: { service: { type: 'TEXT', is_multi: false, value: 'web-store' } },
    },
    relationships: { project: { data: { id: 'd4bbe1af-f36e-42f1-87c1-493ca35c320e', type: 'project' } } },
  },
};

/** Runs `createCase` and returns the DatadogError it must throw. */
async function createCaseError(client: DatadogClient, request: CaseCreateRequest = REQUEST, keys: DatadogKeys = KEYS): Promise<DatadogError> {
  const error: unknown = await client.createCase(request, keys).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DatadogError);
  return error as DatadogError;
}

describe('createDatadogClient', () => {
  let server: DatadogTestServer;
  let client: DatadogClient;

  beforeEach(async () => {
    server = await startDatadogServer();
    client = createDatadogClient({ baseUrl: server.url, timeoutMs: 2000 });
  });
  afterEach(async () => {
    await server.close();
  });

  it('returns the id and key of the created case', async () => {
    const created = await client.createCase(REQUEST, KEYS);

    expect(created.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(created).toEqual({ id: server.cases[0]?.id, key: 'DDFC-1', statusName: 'Open' });
    expect(server.cases[0]?.request).toEqual(REQUEST);
  });

  it('sends both keys and a JSON body', async () => {
    await client.createCase(REQUEST, KEYS);

    const [sent] = server.requests;
    expect(sent?.method).toBe('POST');
    expect(sent?.path).toBe('/api/v2/cases');
    expect(sent?.headers['dd-api-key']).toBe('test-api-key');
    expect(sent?.headers['dd-application-key']).toBe('test-app-key');
    expect(sent?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(sent?.body ?? '')).toEqual(REQUEST);
    expect(sent?.status).toBe(201);
  });

  it('throws a non-retryable 403 when a key is wrong', async () => {
    const error = await createCaseError(client, REQUEST, { ...KEYS, appKey: 'wrong' });

    expect(error).toMatchObject({ status: 403, retryable: false, ambiguous: false, errors: ['Forbidden'] });
    expect(server.cases).toHaveLength(0);
  });

  it('throws a non-retryable 400 with the error strings when the server rejects the body', async () => {
    const invalid = { data: { ...REQUEST.data, attributes: { ...REQUEST.data.attributes, priority: 'P9' } } } as unknown as CaseCreateRequest;

    const error = await createCaseError(client, invalid);

    expect(error).toMatchObject({ status: 400, retryable: false, ambiguous: false });
    expect(error.errors).toHaveLength(1);
    expect(error.errors[0]).toMatch(/^400 Bad Request data\.attributes\.priority: /);
  });

  it.each([
    {
      shape: 'JSON:API error objects (live)',
      body: { errors: [{ status: '400', title: 'Bad Request', detail: 'got type "userx" expected one of "user"' }] },
      errors: ['400 Bad Request got type "userx" expected one of "user"'],
    },
    { shape: 'JSON:API error objects without status', body: { errors: [{ code: 'resource_not_found', title: 'project not found' }] }, errors: ['project not found'] },
    { shape: 'strings (OpenAPI APIErrorResponse)', body: { errors: ['Bad Request', 'title is required'] }, errors: ['Bad Request', 'title is required'] },
    { shape: 'text', body: 'upstream said no', errors: ['upstream said no'] },
  ])('reads the error strings of a 400 body made of $shape', async ({ body, errors }) => {
    server.failNext(1, { status: 400, body });

    const error = await createCaseError(client);

    expect(error).toMatchObject({ status: 400, retryable: false });
    expect(error.errors).toEqual(errors);
    expect(error.message).toContain(errors[0]);
  });

  it.each([
    { status: 401, retryable: false, ambiguous: false },
    { status: 404, retryable: false, ambiguous: false },
    { status: 409, retryable: false, ambiguous: false },
    { status: 429, retryable: true, ambiguous: false },
    { status: 500, retryable: true, ambiguous: true },
    { status: 502, retryable: true, ambiguous: true },
    { status: 503, retryable: true, ambiguous: true },
  ])('treats $status as retryable=$retryable ambiguous=$ambiguous', async ({ status, retryable, ambiguous }) => {
    server.failNext(1, { status });

    const error = await createCaseError(client);

    expect(error).toMatchObject({ status, retryable, ambiguous });
  });

  it('reads X-RateLimit-Reset of a 429 as seconds until the reset', async () => {
    server.failNext(1, {
      status: 429,
      body: { errors: ['Too many requests'] },
      headers: { 'X-RateLimit-Limit': '30', 'X-RateLimit-Period': '60', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '7', 'X-RateLimit-Name': 'cases_write' },
    });

    const error = await createCaseError(client);

    expect(error).toMatchObject({ status: 429, retryable: true, ambiguous: false, errors: ['Too many requests'] });
    expect(error.rateLimit).toEqual({ limit: 30, period: 60, remaining: 0, reset: 7, name: 'cases_write' });
  });

  it('throws a retryable 429 once the rate-limit window is used up', async () => {
    server.rateLimit({ limit: 2, periodSeconds: 10 });

    await client.createCase(REQUEST, KEYS);
    await client.createCase(REQUEST, KEYS);
    const error = await createCaseError(client);

    expect(error).toMatchObject({ status: 429, retryable: true, ambiguous: false });
    expect(error.rateLimit).toMatchObject({ limit: 2, period: 10, remaining: 0, name: 'cases_write' });
    expect(error.rateLimit?.reset).toBeGreaterThanOrEqual(1);
    expect(error.rateLimit?.reset).toBeLessThanOrEqual(10);
    expect(server.cases).toHaveLength(2);
  });

  it('throws a retryable, ambiguous status 0 when no answer comes before the deadline', async () => {
    server.hangNext(1);
    const impatient = createDatadogClient({ baseUrl: server.url, timeoutMs: 200 });

    const started = Date.now();
    const error = await createCaseError(impatient);

    expect(error).toMatchObject({ status: 0, retryable: true, ambiguous: true });
    expect(error.message).toBe(`Datadog POST /api/v2/cases timed out after 200 ms without a response from ${new URL(server.url).host}`);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('throws a retryable, ambiguous status 0 when the connection drops after the case was created', async () => {
    server.dropAfterCreateNext(1);

    const error = await createCaseError(client);

    expect(error).toMatchObject({ status: 0, retryable: true, ambiguous: true });
    expect(server.cases).toHaveLength(1);
    expect(server.requests[0]?.status).toBeUndefined();
  });

  it('throws a retryable status 0 that is not ambiguous when the connection is refused', async () => {
    const gone = await startDatadogServer();
    await gone.close();
    const refused = createDatadogClient({ baseUrl: gone.url, timeoutMs: 2000 });

    const error = await createCaseError(refused);

    expect(error).toMatchObject({ status: 0, retryable: true, ambiguous: false });
    expect(error.message).toBe(`Datadog POST /api/v2/cases failed: connection refused by ${new URL(gone.url).host} (ECONNREFUSED)`);
  });

  it('throws a status 0 that is not ambiguous when every address of the host refused (happy eyeballs)', async () => {
    // What undici throws when each address tried (IPv6 and IPv4) refused: the codes are on the AggregateError's errors.
    const refusedEverywhere = async (): Promise<Response> => {
      const each = (address: string) => Object.assign(new Error(`connect ECONNREFUSED ${address}`), { code: 'ECONNREFUSED' });
      throw new TypeError('fetch failed', { cause: new AggregateError([each('::1:443'), each('127.0.0.1:443')]) });
    };
    const client = createDatadogClient({ baseUrl: 'https://dd.test', timeoutMs: 2000, fetch: refusedEverywhere });

    const error = await createCaseError(client);

    expect(error).toMatchObject({ status: 0, retryable: true, ambiguous: false });
    expect(error.message).toBe('Datadog POST /api/v2/cases failed: connection refused by dd.test (ECONNREFUSED)');
  });

  it('throws a status 0 that is ambiguous when the server closed the connection, whatever the message says', async () => {
    const closed = async (): Promise<Response> => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('other side closed (after ECONNREFUSED from a proxy)'), { code: 'UND_ERR_SOCKET' }) });
    };
    const client = createDatadogClient({ baseUrl: 'https://dd.test', timeoutMs: 2000, fetch: closed });

    expect(await createCaseError(client)).toMatchObject({ status: 0, retryable: true, ambiguous: true });
  });

  it('names a failed TLS handshake (https:// to a server that speaks plain HTTP)', async () => {
    const tls = createDatadogClient({ baseUrl: server.url.replace(/^http:/, 'https:'), timeoutMs: 2000 });

    const error = await createCaseError(tls);

    expect(error).toMatchObject({ status: 0, retryable: true });
    expect(error.message).toMatch(new RegExp(`^Datadog POST /api/v2/cases failed: TLS connection to ${new URL(server.url).host} failed \\((?:ERR_SSL_|EPROTO|ECONNRESET)`));
  });

  it('names a failed DNS lookup, without the credentials of the URL', async () => {
    // What undici throws when getaddrinfo fails (no DNS lookup leaves this machine).
    const dnsFailure = async (): Promise<Response> => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('getaddrinfo ENOTFOUND api.datadoghq.example'), { code: 'ENOTFOUND', syscall: 'getaddrinfo' }) });
    };
    const client = createDatadogClient({ baseUrl: 'https://user:pass@api.datadoghq.example', timeoutMs: 2000, fetch: dnsFailure });

    const error = await createCaseError(client);

    expect(error).toMatchObject({ status: 0, retryable: true, ambiguous: false });
    expect(error.message).toBe('Datadog POST /api/v2/cases failed: DNS lookup of api.datadoghq.example failed (ENOTFOUND)');
  });

  it.each([
    { what: 'a body without data.id', body: { data: { type: 'case', attributes: {} } } },
    { what: 'a body of another resource type', body: { data: { id: 'x', type: 'users', attributes: {} } } },
    { what: 'a body that is not JSON', body: '<html>created</html>' },
  ])('throws a non-retryable error when a 201 carries $what', async ({ body }) => {
    server.failNext(1, { status: 201, body });

    const error = await createCaseError(client);

    expect(error).toMatchObject({ status: 201, retryable: false, ambiguous: true });
  });
});

describe('describeNetworkFailure', () => {
  const failed = (cause: Error) => new TypeError('fetch failed', { cause });
  const coded = (message: string, code: string) => Object.assign(new Error(message), { code });

  it.each([
    ['a reset before TLS was up', failed(coded('Client network socket disconnected before secure TLS connection was established', 'ECONNRESET')), 'TLS connection to dd.test:443 failed (ECONNRESET)'],
    ['an untrusted certificate', failed(coded('self-signed certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT')), 'TLS connection to dd.test:443 failed (DEPTH_ZERO_SELF_SIGNED_CERT)'],
    ['a connection closed by the server', failed(coded('other side closed', 'UND_ERR_SOCKET')), 'connection to dd.test:443 closed before a response (UND_ERR_SOCKET)'],
    ['a connect timeout', failed(coded('Connect Timeout Error', 'UND_ERR_CONNECT_TIMEOUT')), 'connecting to dd.test:443 timed out (UND_ERR_CONNECT_TIMEOUT)'],
    ['every address refused (happy eyeballs)', failed(new AggregateError([coded('connect ECONNREFUSED ::1:443', 'ECONNREFUSED')])), 'connection refused by dd.test:443 (ECONNREFUSED)'],
    ['a DNS server that does not answer', failed(coded('getaddrinfo EAI_AGAIN dd.test', 'EAI_AGAIN')), 'DNS lookup of dd.test failed (EAI_AGAIN)'],
    ['an unknown code', failed(coded('odd', 'EHOSTUNREACH')), 'no response from dd.test:443 (EHOSTUNREACH)'],
    ['no code at all', new TypeError('fetch failed'), 'no response from dd.test:443: fetch failed'],
  ])('names %s', (_what, error, expected) => {
    expect(describeNetworkFailure(error, 'dd.test:443')).toBe(expected);
  });
});

describe('parseRateLimit', () => {
  const headers = (values: Record<string, string>) => ({ get: (name: string) => values[name.toLowerCase()] ?? null });

  it('reads the four numbers and the name', () => {
    expect(parseRateLimit(headers({ 'x-ratelimit-limit': '10', 'x-ratelimit-period': '2', 'x-ratelimit-remaining': ' 0 ', 'x-ratelimit-reset': '1', 'x-ratelimit-name': 'cases_write' }))).toEqual({ limit: 10, period: 2, remaining: 0, reset: 1, name: 'cases_write' });
  });

  it('takes an empty or blank header as absent, not as 0: an empty X-RateLimit-Reset is no reset "now"', () => {
    expect(parseRateLimit(headers({ 'x-ratelimit-reset': '', 'x-ratelimit-limit': '   ' }))).toBeUndefined();
    expect(parseRateLimit(headers({ 'x-ratelimit-reset': '', 'x-ratelimit-remaining': '3' }))).toEqual({ remaining: 3 });
  });

  it('leaves out what is not a count: negative, not a number, hexadecimal or exponent forms', () => {
    expect(parseRateLimit(headers({ 'x-ratelimit-reset': '-1', 'x-ratelimit-limit': 'ten', 'x-ratelimit-period': '0x10', 'x-ratelimit-remaining': '1e3' }))).toBeUndefined();
  });
});
