import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { DEV_SECRETS_FILE, startLocalBridge, type LocalBridge } from '../../lambda/local/bridge.js';
import { SAMPLES_DIR } from '../../lambda/local/samples.js';
import { sendSample } from '../../lambda/local/send-sample.js';
import { PRESET_RULES_FILE } from '../../lambda/mapping/load-rules-file.js';
import { parseEnv } from '../../lambda/shared/env.js';
import { silentLogger } from '../../lambda/shared/log.js';
import { resolveChromium } from '../support/browser-gate.js';

// A real browser (the machine's Chromium, headless, driven by playwright-core) on the console of
// `npm start` as a user runs it (the SQS emulator with its DLQ, the local Case Management): it sees a
// delivery sent as `npm run send` sends it, opens its trace, and replays a dead-lettered one.
// Left out (one line) on a machine without Chromium; under CI it is required (test/support/browser-gate.ts).

describe('the console in a browser', { timeout: 120_000 }, () => {
  let bridge: LocalBridge;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    bridge = await startLocalBridge({ env: parseEnv({ PORT: '0' }), logger: silentLogger, embeddedDatadog: true, embeddedSqs: true, embeddedLedger: true });
    browser = await chromium.launch({ executablePath: resolveChromium(), headless: true, args: ['--no-sandbox'] });
    page = await browser.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await bridge?.close();
  });

  const send = (source: string, event: string) => sendSample({ source, event, baseUrl: bridge.url, rulesFile: PRESET_RULES_FILE, secretsFile: DEV_SECRETS_FILE });

  it('shows a delivery sent with npm run send, live, and opens its trace', async () => {
    await page.goto(`${bridge.url}/`);
    await expect(page.locator('h1').textContent()).resolves.toBe('case-bridge console');

    const sent = await send('alertmanager', 'firing');
    const delivery = (JSON.parse(sent.text) as { delivery: string }).delivery;
    expect(sent.status).toBe(201);

    // No reload: the page polls its panels.
    const row = page.locator(`#deliveries tr[data-delivery="${delivery}"]`);
    await row.waitFor({ timeout: 10_000 });
    await expect(row.locator('.status').textContent()).resolves.toBe('created');
    await expect(page.locator('#cases tr[data-case="DDFC-1"] td.title').textContent()).resolves.toBe('[Alertmanager] DiskFillingUp (1 alert)');

    await row.locator('a.trace').click();
    await page.waitForURL(`**/deliveries/${delivery}`);
    await expect(page.locator('#delivery-id').textContent()).resolves.toBe(delivery);
    const event = await page.locator('#events li.event').first().textContent();
    expect(event).toContain('DiskFillingUp');
    expect(event).toContain('created');
    expect(event).toContain('DDFC-1');
  });

  it('shows an alert title that is markup as text, running none of it', async () => {
    const markup = '<img src=x onerror=alert(1)><script>alert(2)</script>';
    const payload = join(mkdtempSync(join(tmpdir(), 'case-bridge-xss-')), 'xss.json');
    writeFileSync(payload, readFileSync(join(SAMPLES_DIR, 'alertmanager', 'firing.json'), 'utf8').replaceAll('DiskFillingUp', markup));
    let dialogs = 0;
    page.on('dialog', (d) => {
      dialogs += 1;
      void d.dismiss();
    });
    await page.goto(`${bridge.url}/`);

    expect((await send('alertmanager', payload)).status).toBe(201);

    const title = page.locator('#cases td.title', { hasText: '<script>' });
    await title.waitFor({ timeout: 10_000 });
    await expect(title.textContent()).resolves.toBe(`[Alertmanager] ${markup} (1 alert)`);
    expect(await page.locator('#cases img, #cases script').count()).toBe(0);
    expect(dialogs).toBe(0);
  });

  it('replays a dead-lettered delivery from the dead-letter queue: its case is created once, and the entry leaves the queue', async () => {
    // Datadog refuses the create for good (a 400, as for a rule whose output Datadog rejects): dead-lettered.
    bridge.caseManagement?.failNext(1, { status: 400, body: { errors: ['Bad Request'] } });
    const sent = await send('github', 'issues.opened');
    const delivery = (JSON.parse(sent.text) as { delivery: string; status: string }).delivery;
    expect(JSON.parse(sent.text)).toMatchObject({ status: 'dead_lettered' });

    await page.goto(`${bridge.url}/`);
    const entry = page.locator('#dead-letters tr[data-dead-letter]', { hasText: delivery });
    await entry.waitFor({ timeout: 10_000 });
    const cases = bridge.caseManagement?.cases.length ?? 0;

    await entry.locator('button[data-dlq]').click();

    await page.locator('#result', { hasText: '"result": "replayed"' }).waitFor({ timeout: 15_000 });
    const result = JSON.parse((await page.locator('#result').textContent())?.split('\n').slice(1).join('\n') ?? '{}') as { removed: boolean; items: { original: string; replay: string; status: string }[] };
    expect(result).toMatchObject({ removed: true, items: [{ original: delivery, status: 'created' }] });
    expect(bridge.caseManagement?.cases.length).toBe(cases + 1);
    await entry.waitFor({ state: 'detached', timeout: 10_000 });
    // The replay is a delivery of its own, linked to the original.
    const replayRow = page.locator(`#deliveries tr[data-delivery="${result.items[0]?.replay ?? ''}"]`);
    await replayRow.waitFor({ timeout: 10_000 });
    await expect(replayRow.textContent()).resolves.toContain(`replay of ${delivery}`);
  });
});
