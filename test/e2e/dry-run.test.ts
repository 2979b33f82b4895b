import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBridge, TEST_SECRETS, type TestBridge } from '../support/local-bridge.js';

const body = JSON.stringify({
  action: 'opened',
  issue: { number: 7, title: 'Checkout fails with 500', body: 'Steps to reproduce...', html_url: 'https://github.com/acme/shop/issues/7', state: 'open' },
  repository: { id: 4242, full_name: 'acme/shop', html_url: 'https://github.com/acme/shop' },
});

function sign(secret: string, raw: string): string {
  return `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;
}

describe('local bridge in dry run (no Datadog keys)', () => {
  let bridge: TestBridge;
  beforeAll(async () => {
    bridge = await startTestBridge();
  });
  afterAll(async () => {
    await bridge.close();
  });

  const post = (source: string, raw: string, headers: Record<string, string>) =>
    fetch(`${bridge.url}/webhooks/${source}`, { method: 'POST', body: raw, headers: { 'content-type': 'application/json', ...headers } });

  it('answers a signed GitHub issue with the case request it would send', async () => {
    const res = await post('github', body, { 'x-github-event': 'issues', 'x-github-delivery': 'd-1', 'x-hub-signature-256': sign(TEST_SECRETS.GITHUB_WEBHOOK_SECRET, body) });

    expect(res.status).toBe(202);
    const answer = (await res.json()) as { status: string; request: { data: { attributes: { title: string; description: string } } } };
    expect(answer.status).toBe('dry_run');
    expect(answer.request.data.attributes.title).toBe('[GitHub] acme/shop#7: Checkout fails with 500');
    expect(answer.request.data.attributes.description).toContain('https://github.com/acme/shop/issues/7');
  });

  it('rejects a signature made with another secret with 401', async () => {
    const res = await post('github', body, { 'x-github-event': 'issues', 'x-hub-signature-256': sign('not-the-secret', body) });

    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: 'invalid_signature' });
  });

  it('answers 404 for a source that is not configured', async () => {
    const res = await post('jira', body, {});

    expect(res.status).toBe(404);
  });
});
