/**
 * Storm figure for `npm run bench` (issue #3): 200 distinct signed webhooks against a local
 * Datadog-compatible server limited to 10 creates per 2 s, through the real local bridge with the
 * retry queue in the embedded SQS emulator (fauxqs) and the same retry consumer as the Lambda.
 * Prints the cases per second achieved beside the limit's rate, ok when every webhook made its case,
 * once, within 1.5x of the limit's minimum time. Bounded: gives up after 120 s. The one place the storm
 * is timed; `npm test` runs it counted, on a fake clock (test/integration/storm.test.ts).
 *
 *   npm run bench              (runs after the CPU benchmark)
 *   npm run bench -- --strict  exit 1 when the storm misses its target too
 *   tsx bench/storm.ts [--webhooks=N] [--strict]
 */
import { createHmac } from 'node:crypto';
import { startLocalBridge } from '../lambda/local/bridge.js';
import { parseEnv } from '../lambda/shared/env.js';
import { silentLogger } from '../lambda/shared/log.js';
import { createSecretsProvider } from '../lambda/shared/secrets.js';
import { startDatadogServer } from '../lambda/local/datadog-server.js';

// npm run runs this on the pinned Node 24 (no SDK notice); started with an older node directly, the
// SDK's notice about Node 22 would only clutter the figures.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

const arg = process.argv.find((a) => a.startsWith('--webhooks='));
const WEBHOOKS = arg ? Number(arg.slice('--webhooks='.length)) : 200;
const LIMIT = 10;
const PERIOD_SECONDS = 2;
const IN_FLIGHT = 20;
const GIVE_UP_MS = 120_000;
const SECRET = 'storm-github-secret';

const dd = await startDatadogServer();
dd.rateLimit({ limit: LIMIT, periodSeconds: PERIOD_SECONDS });
const bag = { GITHUB_WEBHOOK_SECRET: SECRET, DD_API_KEY: 'test-api-key', DD_APP_KEY: 'test-app-key' };
const bridge = await startLocalBridge({
  env: parseEnv({ PORT: '0', DD_API_URL: dd.url }),
  logger: silentLogger,
  secrets: createSecretsProvider({ load: async () => JSON.stringify(bag), origin: 'storm' }),
  embeddedSqs: true,
});

async function post(n: number): Promise<number> {
  const body = JSON.stringify({ action: 'opened', issue: { number: n, title: `Storm alert ${n}`, html_url: `https://github.com/acme/storm/issues/${n}` }, repository: { id: 77, full_name: 'acme/storm' } });
  const signature = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
  const res = await fetch(`${bridge.url}/webhooks/github`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-github-event': 'issues', 'x-github-delivery': `storm-${n}`, 'x-hub-signature-256': signature } });
  await res.arrayBuffer();
  return res.status;
}

const started = performance.now();
const statuses: number[] = [];
let next = 1;
await Promise.all(
  Array.from({ length: IN_FLIGHT }, async () => {
    while (next <= WEBHOOKS) statuses.push(await post(next++));
  }),
);
while (dd.cases.length < WEBHOOKS && performance.now() - started < GIVE_UP_MS) await new Promise((r) => setTimeout(r, 100));
const seconds = (performance.now() - started) / 1000;
await bridge.close();
await dd.close();

const lost = statuses.filter((s) => s !== 201 && s !== 202).length;
const titles = new Set(dd.cases.map((c) => c.request.data.attributes.title));
const rate = dd.cases.length / seconds;
const limitRate = LIMIT / PERIOD_SECONDS;
const floor = (WEBHOOKS / LIMIT) * PERIOD_SECONDS;
const ok = dd.cases.length === WEBHOOKS && titles.size === WEBHOOKS && seconds <= 1.5 * floor;
process.stderr.write(
  [
    '',
    `Storm: ${WEBHOOKS} webhooks against ${LIMIT} creates / ${PERIOD_SECONDS} s (local Datadog server, fauxqs retry queue)`,
    `  cases created ${dd.cases.length} (distinct ${titles.size}), answers not 201/202: ${lost}`,
    `  total ${seconds.toFixed(1)} s (limit's floor ${floor} s, target <= ${(1.5 * floor).toFixed(0)} s)`,
    `storm ${rate.toFixed(2)} cases/s over the limit's ${limitRate.toFixed(2)}/s = ${((100 * rate) / limitRate).toFixed(0)}% ${ok ? 'ok' : 'FAIL'}`,
    '',
  ].join('\n'),
);
if (!ok && process.argv.includes('--strict')) process.exitCode = 1;
