/**
 * Storm figures for `npm run bench` (issues #3, #15): distinct signed webhooks against a local
 * Datadog-compatible server limited to 10 creates per 2 s, through the real local bridge (with its
 * shared rate budget) with the retry queue in the embedded SQS emulator (fauxqs) and the same retry
 * consumer as the Lambda. For each storm it prints, beside their targets, the time over the limit's
 * minimum (<= 1.05) and the 429 answers per case created (<= 0.05); ok also needs every webhook to
 * make its case, once. 200 webhooks by default (40 s at the limit); `--storm-large` adds 2,000 (400 s).
 * Bounded: each storm gives up after 1.5x its minimum plus 30 s. The one place the storm is timed;
 * `npm test` runs it counted, on a fake clock (test/integration/storm.test.ts).
 *
 *   npm run bench                     (runs after the CPU benchmark)
 *   npm run bench -- --strict         exit 1 when a storm misses its target too
 *   npm run bench -- --storm-large    the 2,000-webhook storm too (about 7 minutes)
 *   tsx bench/storm.ts [--webhooks=N] [--storm-large] [--no-pace] [--strict]
 *   (--no-pace: the bridge without its rate budget, every retry at the reset: the figures before #15)
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
const SIZES = arg ? [Number(arg.slice('--webhooks='.length))] : process.argv.includes('--storm-large') ? [200, 2000] : [200];
const PACE = !process.argv.includes('--no-pace');
const LIMIT = 10;
const PERIOD_SECONDS = 2;
const IN_FLIGHT = 20;
const SECRET = 'storm-github-secret';
const TIME_TARGET = 1.05;
const WASTE_TARGET = 0.05;

interface StormFigures {
  readonly webhooks: number;
  readonly created: number;
  readonly distinct: number;
  readonly lost: number;
  readonly seconds: number;
  readonly minimum: number;
  readonly refused: number;
}

async function storm(webhooks: number): Promise<StormFigures> {
  const dd = await startDatadogServer();
  dd.rateLimit({ limit: LIMIT, periodSeconds: PERIOD_SECONDS });
  const bag = { GITHUB_WEBHOOK_SECRET: SECRET, DD_API_KEY: 'test-api-key', DD_APP_KEY: 'test-app-key' };
  const bridge = await startLocalBridge({
    env: parseEnv({ PORT: '0', DD_API_URL: dd.url }),
    logger: silentLogger,
    secrets: createSecretsProvider({ load: async () => JSON.stringify(bag), origin: 'storm' }),
    embeddedSqs: true,
    ...(PACE ? {} : { pace: false as const }),
  });

  async function post(n: number): Promise<number> {
    const body = JSON.stringify({ action: 'opened', issue: { number: n, title: `Storm alert ${n}`, html_url: `https://github.com/acme/storm/issues/${n}` }, repository: { id: 77, full_name: 'acme/storm' } });
    const signature = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
    const res = await fetch(`${bridge.url}/webhooks/github`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-github-event': 'issues', 'x-github-delivery': `storm-${n}`, 'x-hub-signature-256': signature } });
    await res.arrayBuffer();
    return res.status;
  }

  const minimum = (webhooks / LIMIT) * PERIOD_SECONDS;
  const giveUpMs = (1.5 * minimum + 30) * 1000;
  const started = performance.now();
  const statuses: number[] = [];
  let next = 1;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next <= webhooks) statuses.push(await post(next++));
    }),
  );
  while (dd.cases.length < webhooks && performance.now() - started < giveUpMs) await new Promise((r) => setTimeout(r, 50));
  const seconds = (performance.now() - started) / 1000;
  await bridge.close();
  await dd.close();
  return {
    webhooks,
    created: dd.cases.length,
    distinct: new Set(dd.cases.map((c) => c.request.data.attributes.title)).size,
    lost: statuses.filter((s) => s !== 201 && s !== 202).length,
    seconds,
    minimum,
    refused: dd.requests.filter((r) => r.status === 429).length,
  };
}

let missed = false;
for (const webhooks of SIZES) {
  const f = await storm(webhooks);
  const overMinimum = f.seconds / f.minimum;
  const wasted = f.refused / Math.max(1, f.created);
  const complete = f.created === webhooks && f.distinct === webhooks && f.lost === 0;
  const timeOk = complete && overMinimum <= TIME_TARGET;
  const wasteOk = complete && wasted <= WASTE_TARGET;
  missed ||= !timeOk || !wasteOk;
  process.stderr.write(
    [
      '',
      `Storm: ${webhooks} webhooks against ${LIMIT} creates / ${PERIOD_SECONDS} s (local Datadog server, fauxqs retry queue${PACE ? '' : ', NO rate budget'})`,
      `  cases created ${f.created} (distinct ${f.distinct}), answers not 201/202: ${f.lost}; total ${f.seconds.toFixed(1)} s, the limit's minimum ${f.minimum} s`,
      `storm ${webhooks}: time over the limit's minimum ${overMinimum.toFixed(3)} (target <= ${TIME_TARGET}) ${timeOk ? 'ok' : 'FAIL'}`,
      `storm ${webhooks}: 429 answers per case created ${wasted.toFixed(3)} (${f.refused} in all; target <= ${WASTE_TARGET}) ${wasteOk ? 'ok' : 'FAIL'}`,
      '',
    ].join('\n'),
  );
}
if (SIZES.length === 1 && SIZES[0] === 200) process.stderr.write('(the 2,000-webhook storm: npm run bench -- --storm-large)\n');
if (missed && process.argv.includes('--strict')) process.exitCode = 1;
