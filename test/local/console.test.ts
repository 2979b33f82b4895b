import { request } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_SECRETS_FILE, startLocalBridge, type LocalBridge } from '../../lambda/local/bridge.js';
import { datadogAppUrl, esc } from '../../lambda/local/console.js';
import { SAMPLES_DIR } from '../../lambda/local/samples.js';
import { sendSample } from '../../lambda/local/send-sample.js';
import { PRESET_RULES_FILE } from '../../lambda/mapping/load-rules-file.js';
import { parseEnv } from '../../lambda/shared/env.js';
import { silentLogger } from '../../lambda/shared/log.js';

// The local console (GET / of npm start): what it shows, that it shows the sender's text as text, and
// that only the console itself can post to it.

const XSS = '<img src=x onerror=alert(1)><script>alert(2)</script>';

describe('the local console', () => {
  let bridge: LocalBridge;
  let payload: string;

  beforeAll(async () => {
    bridge = await startLocalBridge({ env: parseEnv({ PORT: '0' }), logger: silentLogger, embeddedDatadog: true });
    // An alert whose name (and so the case title) is markup.
    const dir = mkdtempSync(join(tmpdir(), 'case-bridge-console-'));
    payload = join(dir, 'xss.json');
    writeFileSync(payload, readFileSync(join(SAMPLES_DIR, 'alertmanager', 'firing.json'), 'utf8').replaceAll('DiskFillingUp', XSS.replaceAll('"', '\\"')));
  });
  afterAll(async () => {
    await bridge?.close();
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${bridge.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  it('serves a page that names the local Case Management and offers every sample of test/fixtures', async () => {
    const res = await fetch(`${bridge.url}/`);
    const page = await res.text();

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    // Its one script runs under a nonce of this answer; no other script (an injected one) would.
    const nonce = /<script nonce="([^"]+)">/.exec(page)?.[1];
    expect(res.headers.get('content-security-policy')).toContain(`default-src 'none'; script-src 'nonce-${nonce}';`);
    expect(page).toContain(`Datadog: the LOCAL Case Management ${bridge.caseManagement?.url}`);
    expect(page).toContain('<option value="alertmanager/firing">alertmanager firing</option>');
    expect(page).toContain('<option value="github/issues.opened">github issues.opened</option>');
  });

  it('shows an alert title that is markup as text: escaped, never as elements', async () => {
    const sent = await sendSample({ source: 'alertmanager', event: payload, baseUrl: bridge.url, rulesFile: PRESET_RULES_FILE, secretsFile: DEV_SECRETS_FILE });
    expect(sent.status).toBe(201);

    const panels = await (await fetch(`${bridge.url}/local/console/panels`)).text();

    expect(panels).toContain(`<td class="title">[Alertmanager] ${esc(XSS)} (1 alert)</td>`);
    expect(panels).not.toContain('<script>');
    expect(panels).not.toContain('<img');
  });

  it('signs and sends a sample from its form, as npm run send does', async () => {
    const res = await post('/local/send', { source: 'alertmanager', sample: 'firing' });

    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 201, answer: { status: 'created', case: { key: 'DDFC-2' } } });
  });

  it('takes posts only from itself: JSON, to 127.0.0.1 or localhost, from its own origin', async () => {
    const asForm = await fetch(`${bridge.url}/local/send`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ source: 'alertmanager', sample: 'firing' }) });
    const crossSite = await post('/local/send', { source: 'alertmanager', sample: 'firing' }, { origin: 'https://evil.example' });
    // A name of the attacker's that resolves to 127.0.0.1 (DNS rebinding): fetch cannot set Host, node:http can.
    const rebound = await new Promise<number>((resolve, reject) => {
      const req = request(`${bridge.url}/local/replay`, { method: 'POST', headers: { host: 'evil.example', 'content-type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(JSON.stringify({ ids: ['d1'], apply: true }));
    });

    expect([asForm.status, crossSite.status, rebound]).toEqual([403, 403, 403]);
    expect(bridge.caseManagement?.cases).toHaveLength(2);
  });

  it('answers a bad request with 400 and a trace that is not there with 404, its id escaped', async () => {
    expect((await post('/local/send', { source: 'alertmanager', sample: '../../etc/passwd' })).status).toBe(400);
    const unknown = await post('/local/send', { source: 'alertmanager', sample: 'nosuchsample' });
    expect({ status: unknown.status, body: await unknown.json() }).toEqual({ status: 400, body: { error: 'bad_request', message: expect.stringContaining('no sample nosuchsample for alertmanager') as unknown } });
    expect((await post('/local/replay', { apply: true })).status).toBe(400);
    const missing = await fetch(`${bridge.url}/deliveries/${encodeURIComponent('<b>x</b>')}`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('No delivery <code>&#60;b&#62;x&#60;/b&#62;</code> in the journal.');
  });
});

describe('console helpers', () => {
  it('escapes the five HTML specials and the backquote', () => {
    expect(esc(`<a href="x" title='y'>&\`</a>`)).toBe('&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;&#96;&#60;/a&#62;');
  });

  it('links real cases in the Datadog web app of the site', () => {
    expect(datadogAppUrl('https://api.datadoghq.com')).toBe('https://app.datadoghq.com');
    expect(datadogAppUrl('https://api.datadoghq.eu')).toBe('https://app.datadoghq.eu');
    expect(datadogAppUrl('https://api.us5.datadoghq.com')).toBe('https://us5.datadoghq.com');
  });
});
