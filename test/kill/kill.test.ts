import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDatadogServer, type DatadogTestServer } from '../../lambda/local/datadog-server.js';
import { DD_KEYS, waitFor } from '../support/fauxqs.js';
import { postGithubIssue, TEST_SECRETS } from '../support/local-bridge.js';
import { children, stateAndStarter } from '../support/npm-run.js';

// Issue 13, `npm run test:kill` (about a minute, wall-clock: not in `npm test`): kill -9 of `npm start`
// (on `npm run state`) in the middle of a burst of 200 distinct alerts, Datadog answering in 0.3 s.
// After a restart, and the senders' retries of every delivery that got no 2xx, every alert has
// exactly one case.

const ALERTS = 200;
const IN_FLIGHT = 20;
const DATADOG_MS = 300;
/** The claims of the killed process lapse after 20 s; the senders retry after this. */
const RETRY_AFTER_MS = 22_000;

function issueBody(n: number): string {
  return JSON.stringify({
    action: 'opened',
    issue: { number: n, title: `Burst ${n}`, body: 'details', html_url: `https://github.com/acme/shop/issues/${n}`, state: 'open' },
    repository: { id: 4242, full_name: 'acme/shop', html_url: 'https://github.com/acme/shop' },
  });
}

let dd: DatadogTestServer;
beforeAll(async () => {
  dd = await startDatadogServer();
  dd.delayNext(1_000_000, DATADOG_MS);
});
afterEach(async () => {
  for (const child of [...children]) await child.kill();
});
afterAll(async () => {
  await dd?.close();
});

describe('kill -9 of npm start during a burst (#13)', () => {
  it(`${ALERTS} distinct alerts, Datadog at ${DATADOG_MS} ms: after a restart and the senders' retries, one case per alert`, { timeout: 300_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'case-bridge-kill-'));
    const { start: startBridge } = await stateAndStarter(dir, { ...TEST_SECRETS, ...DD_KEYS }, dd.url);

    const acked = new Set<number>();
    const post = async (url: string, n: number): Promise<void> => {
      try {
        const res = await postGithubIssue(url, { delivery: `burst-${n}`, body: issueBody(n) });
        if (res.status >= 200 && res.status < 300) acked.add(n);
      } catch {
        // The connection dropped: the sender saw no answer.
      }
    };

    // The burst; the process is killed once a third of the alerts were answered.
    const first = await startBridge();
    let next = 1;
    let killed = false;
    const killer = (async () => {
      await waitFor(() => acked.size >= ALERTS / 3, 120_000, 20);
      killed = true;
      await first.child.kill();
    })();
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        for (let n = next++; n <= ALERTS; n = next++) {
          if (killed) break;
          await post(first.url, n);
        }
      }),
    );
    await killer;
    const ackedBeforeKill = acked.size;

    // A new npm start on the same state; each sender retries what got no 2xx until it does.
    const second = await startBridge();
    for (let round = 0; round < 6 && acked.size < ALERTS; round += 1) {
      const missing = Array.from({ length: ALERTS }, (_, i) => i + 1).filter((n) => !acked.has(n));
      let i = 0;
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          for (let k = i++; k < missing.length; k = i++) await post(second.url, missing[k]!);
        }),
      );
      if (acked.size < ALERTS) await new Promise((r) => setTimeout(r, RETRY_AFTER_MS));
    }

    const casesOf = (n: number) => dd.cases.filter((c) => c.request.data.attributes.title.endsWith(`: Burst ${n}`)).length;
    // Work the killed process left on the ledger is finished by its watchdogs (21 s) through the retry consumer.
    await waitFor(() => Array.from({ length: ALERTS }, (_, i) => casesOf(i + 1)).every((c) => c >= 1), 120_000, 500);
    const counts = Array.from({ length: ALERTS }, (_, i) => casesOf(i + 1));
    const lost = counts.filter((c) => c === 0).length;
    const duplicated = counts.filter((c) => c > 1).length;
    console.log(`kill test: ${ALERTS} alerts, ${ackedBeforeKill} answered 2xx before kill -9, ${dd.cases.length} cases, ${lost} lost, ${duplicated} duplicated`);
    expect(acked.size).toBe(ALERTS);
    expect({ lost, duplicated, cases: dd.cases.length }).toEqual({ lost: 0, duplicated: 0, cases: ALERTS });
  });
});
