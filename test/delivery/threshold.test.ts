import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryActionQueue } from '../../lambda/delivery/queue.js';
import type { OutboxDeps } from '../../lambda/delivery/outbox.js';
import { runLifecycle } from '../../lambda/delivery/run.js';
import { DynamoLedger } from '../../lambda/ledger/dynamo-ledger.js';
import { MemoryLedger } from '../../lambda/ledger/memory-ledger.js';
import type { Ledger } from '../../lambda/ledger/types.js';
import { resolvePolicy } from '../../lambda/lifecycle/policy.js';
import type { AlertWork } from '../../lambda/lifecycle/work.js';
import { silentLogger } from '../../lambda/shared/log.js';
import { firing, resolved, T0 } from '../support/crash.js';
import { startDynalite, type LocalDynamo } from '../support/dynalite.js';
import { fakeDatadog } from '../support/fakes.js';

// Issue 17: `open_after: { occurrences: N, within_seconds: S }`, counted in the ledger, under concurrency.

const N = 5;
const S = 600;
const POLICY = resolvePolicy({ open_after: { occurrences: N, within_seconds: S } });
const KEY = { source: 'alertmanager', identity: 'group/disk' };

let dynamo: LocalDynamo;
let tableNo = 0;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo?.close();
});

const LEDGERS: readonly [string, () => Promise<Ledger>][] = [
  ['MemoryLedger', async () => new MemoryLedger()],
  [
    'DynamoLedger (dynalite)',
    async () => {
      const tableName = `threshold-${++tableNo}`;
      await dynamo.createLedgerTable(tableName);
      return new DynamoLedger({ client: dynamo.client, tableName });
    },
  ],
];

for (const [name, makeLedger] of LEDGERS) {
  describe(`open_after on ${name}`, () => {
    async function world() {
      const ledger = await makeLedger();
      const dd = fakeDatadog();
      const w = { ledger, dd, clock: T0, deps: undefined as unknown as OutboxDeps };
      w.deps = {
        datadog: dd,
        keys: { get: async () => ({ apiKey: 'a', appKey: 'b' }), refresh: async () => ({ apiKey: 'a', appKey: 'b' }) },
        queue: new MemoryActionQueue(),
        ledger,
        logger: silentLogger,
        now: () => w.clock,
        random: () => 0,
      };
      return w;
    }
    /** A firing with the threshold, from a sender with delivery ids. */
    const fire = (deliveryId: string): AlertWork => ({ ...firing(), deliveryId, policy: POLICY });
    const resolve = (): AlertWork => ({ ...resolved(), policy: POLICY });

    it(`${N - 1} concurrent firings make no case; the ${N}th makes exactly one, its case counting all ${N}`, async () => {
      const w = await world();
      const below = await Promise.all(Array.from({ length: N - 1 }, (_, i) => runLifecycle(fire(`d${i}`), w.deps)));
      for (const outcome of below) expect(outcome).toMatchObject({ status: 'below_threshold', reason: 'counted', openAfter: { occurrences: N, within_seconds: S } });
      // Each saw the count after its own write: some order of 1..N-1.
      expect(below.map((o) => (o.status === 'below_threshold' ? o.occurrences : 0)).sort()).toEqual(Array.from({ length: N - 1 }, (_, i) => i + 1));
      expect(w.dd.cases).toHaveLength(0);
      expect(await w.ledger.get(KEY.source, KEY.identity)).toBeUndefined();

      w.clock += 1_000;
      expect(await runLifecycle(fire(`d${N - 1}`), w.deps)).toMatchObject({ status: 'created', reason: 'new_alert' });
      expect(w.dd.cases).toHaveLength(1);
      expect(await w.ledger.get(KEY.source, KEY.identity)).toMatchObject({ state: 'open', occurrences: N, commentedOccurrences: N, firstSeen: T0 });
    });

    it(`${3 * N} concurrent firings (threshold ${N}) make exactly one case`, async () => {
      const w = await world();
      const outcomes = await Promise.all(Array.from({ length: 3 * N }, (_, i) => runLifecycle(fire(`d${i}`), w.deps)));
      expect(w.dd.cases).toHaveLength(1);
      expect(outcomes.filter((o) => o.status === 'created')).toHaveLength(1);
      expect(outcomes.filter((o) => o.status === 'below_threshold')).toHaveLength(N - 1);
    });

    it("a sender's retry of one delivery counts once", async () => {
      const w = await world();
      for (let i = 0; i < 2 * N; i += 1) expect(await runLifecycle(fire('same-delivery'), w.deps)).toMatchObject({ status: 'below_threshold', occurrences: 1 });
      expect(w.dd.cases).toHaveLength(0);
    });

    it(`firings spread beyond ${S} s never open a case; ${N} within ${S} s do (a sliding window)`, async () => {
      const w = await world();
      const step = Math.ceil((S * 1000) / (N - 1)) + 1;
      // Any N consecutive firings span more than S seconds: at most N - 1 in any window.
      for (let i = 0; i < 4 * N; i += 1) {
        expect(await runLifecycle(fire(`spread-${i}`), w.deps)).toMatchObject({ status: 'below_threshold', occurrences: Math.min(i + 1, N - 1) });
        w.clock += step;
      }
      expect(w.dd.cases).toHaveLength(0);
      // The last N - 1 firings are still in the window: one more now reaches N.
      w.clock -= step;
      expect(await runLifecycle(fire('burst'), w.deps)).toMatchObject({ status: 'created' });
      expect(w.dd.cases).toHaveLength(1);
    });

    it('a resolve before the threshold resets the count and makes no case', async () => {
      const w = await world();
      for (let i = 0; i < N - 1; i += 1) {
        await runLifecycle(fire(`a${i}`), w.deps);
        w.clock += 1_000;
      }
      expect(await runLifecycle(resolve(), w.deps)).toMatchObject({ status: 'below_threshold', reason: 'reset', occurrences: 0 });
      w.clock += 1_000;
      // A firing sent before the resolve (delivered late) does not count either.
      expect(await runLifecycle({ ...fire('late'), occurredAt: T0 + 500 }, w.deps)).toMatchObject({ status: 'below_threshold', occurrences: 0 });
      for (let i = 0; i < N - 1; i += 1) {
        expect(await runLifecycle(fire(`b${i}`), w.deps)).toMatchObject({ status: 'below_threshold', occurrences: i + 1 });
        w.clock += 1_000;
      }
      expect(w.dd.cases).toHaveLength(0);
      expect(await runLifecycle(fire('b-last'), w.deps)).toMatchObject({ status: 'created' });
      // A resolve with nothing counting is answered as before.
      expect(await runLifecycle(resolve(), w.deps)).toMatchObject({ status: 'updated', reason: 'resolved_closed' });
    });

    it('after a case closed, the next case needs the threshold again; firings before the close do not count', async () => {
      const w = await world();
      const policy = resolvePolicy({ open_after: { occurrences: 2, within_seconds: S }, reopen_window_seconds: 0 });
      const fire2 = (id: string): AlertWork => ({ ...fire(id), policy });
      expect(await runLifecycle(fire2('c1'), w.deps)).toMatchObject({ status: 'below_threshold' });
      w.clock += 1_000;
      expect(await runLifecycle(fire2('c2'), w.deps)).toMatchObject({ status: 'created' });
      w.clock += 1_000;
      expect(await runLifecycle({ ...resolve(), policy }, w.deps)).toMatchObject({ status: 'updated', reason: 'resolved_closed' });
      w.clock += 1_000;
      expect(await runLifecycle(fire2('c3'), w.deps)).toMatchObject({ status: 'below_threshold', occurrences: 1 });
      w.clock += 1_000;
      expect(await runLifecycle(fire2('c4'), w.deps)).toMatchObject({ status: 'created', reason: 'new_case_after_window' });
      expect(w.dd.cases.map((c) => c.status)).toEqual(['CLOSED', 'OPEN']);
    });

    it("a resolve after the case closed is answered as before: the firings that opened the case are not reset again", async () => {
      const w = await world();
      const policy = resolvePolicy({ open_after: { occurrences: 2, within_seconds: S } });
      await runLifecycle({ ...fire('e1'), policy }, w.deps);
      w.clock += 1_000;
      expect(await runLifecycle({ ...fire('e2'), policy }, w.deps)).toMatchObject({ status: 'created' });
      w.clock += 1_000;
      expect(await runLifecycle({ ...resolve(), policy }, w.deps)).toMatchObject({ status: 'updated', reason: 'resolved_closed' });
      w.clock += 1_000;
      expect(await runLifecycle({ ...resolve(), policy }, w.deps)).toMatchObject({ status: 'deduplicated', reason: 'already_closed' });
    });
  });
}
