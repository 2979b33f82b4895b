import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { startDatadogServer } from '../../lambda/local/datadog-server.js';
import { DD_KEYS, waitFor } from '../support/fauxqs.js';
import { postSigned, startTestBridge, TEST_SECRETS } from '../support/local-bridge.js';
import { closeAfterEach } from '../support/per-test.js';

// `npm start` runs the retry consumer against an embedded SQS emulator: a 429 survives locally
// exactly as it does deployed (issue #3, local parity).

/** The local Datadog server and the bridge a test starts, closed after it. */
const closing = closeAfterEach();

describe('local bridge with the embedded SQS emulator', () => {
  it('delivers a rate-limited case through the retry queue once the limit resets', async () => {
    const dd = closing(await startDatadogServer());
    dd.failNext(1, { status: 429, body: { errors: ['Too many requests'] }, headers: { 'X-RateLimit-Reset': '1', 'X-RateLimit-Limit': '10', 'X-RateLimit-Period': '2' } });
    const bridge = closing(await startTestBridge({ secrets: { ...TEST_SECRETS, ...DD_KEYS }, env: { DD_API_URL: dd.url }, overrides: { embeddedSqs: true, random: () => 0 } }));
    const body = JSON.stringify({ action: 'opened', issue: { number: 9, title: 'Queue me', html_url: 'https://github.com/acme/shop/issues/9' }, repository: { id: 1, full_name: 'acme/shop' } });

    const res = await fetch(`${bridge.url}/webhooks/github`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'x-github-event': 'issues', 'x-github-delivery': 'local-parity-1', 'x-hub-signature-256': `sha256=${createHmac('sha256', TEST_SECRETS.GITHUB_WEBHOOK_SECRET).update(body).digest('hex')}` },
    });

    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ status: 'queued', retryInSeconds: 1 });
    expect(bridge.sqs).toBeDefined();
    await waitFor(() => dd.cases.length === 1, 15_000);
    expect(dd.cases[0]!.request.data.attributes.title).toBe('[GitHub] acme/shop#9: Queue me');
  });

  it('queues and then makes the case of an alert whose id and title hold an emoji and U+FFFF, characters SQS or fauxqs refuse as they are', async () => {
    const dd = closing(await startDatadogServer());
    dd.failNext(1, { status: 429, body: { errors: ['Too many requests'] }, headers: { 'X-RateLimit-Reset': '1', 'X-RateLimit-Limit': '10', 'X-RateLimit-Period': '2' } });
    const bridge = closing(await startTestBridge({ secrets: { ...TEST_SECRETS, ...DD_KEYS }, env: { DD_API_URL: dd.url }, overrides: { embeddedSqs: true, random: () => 0 } }));
    const title = 'Checkout \u{1F525} down \uFFFF';
    const body = JSON.stringify({ type: 'alert', id: 'checkout-\u{1F525}-\uFFFE', title, priority: 'P2' });

    const res = await postSigned(bridge.url, 'generic', body, { 'x-webhook-id': 'parity-emoji-1' });

    expect({ status: res.status, answer: await res.json() }).toMatchObject({ status: 202, answer: { status: 'queued' } });
    await waitFor(() => dd.cases.length === 1, 15_000);
    expect(dd.cases[0]!.request.data.attributes.title).toBe(title);
    expect(await bridge.ledger.get('generic', 'checkout-\u{1F525}-\uFFFE')).toMatchObject({ state: 'open' });
  });
});
