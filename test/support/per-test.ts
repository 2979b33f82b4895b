import { afterAll, afterEach, beforeAll } from 'vitest';
import type { LocalBridgeOptions } from '../../lambda/local/bridge.js';
import { startDatadogServer, type DatadogTestServer } from '../../lambda/local/datadog-server.js';
import { DynamoLedger } from '../../lambda/ledger/dynamo-ledger.js';
import { startDynalite, type LocalDynamo } from './dynalite.js';
import { DD_KEYS } from './fauxqs.js';
import { startTestBridge, TEST_SECRETS, type TestBridge } from './local-bridge.js';

// Setup that registers vitest hooks: call these in a describe block (or at the top of a test file).

/** A server or emulator a test starts and must stop. */
export interface Closable {
  close(): Promise<void>;
}

/**
 * Registers an afterEach that closes what the test handed to the returned function, last started first (also when
 * the test failed half way); the function returns what it is given: `const dd = closing(await startDatadogServer())`.
 */
export function closeAfterEach(): <T extends Closable>(started: T) => T {
  const open: Closable[] = [];
  afterEach(async () => {
    for (const started of open.splice(0).reverse()) await started.close();
  });
  return (started) => {
    open.push(started);
    return started;
  };
}

export interface LedgerBridgeOptions {
  /** The bridge's clock. */
  readonly now: () => number;
  /** Edits the presets (config/rules.yaml) the bridge reads. */
  readonly rules?: ((file: Record<string, unknown>) => void) | undefined;
  /** More parts of the bridge (they win over the ledger and `now`). */
  readonly overrides?: Omit<LocalBridgeOptions, 'env' | 'logger'> | undefined;
  /** Options of the local Datadog server. */
  readonly datadog?: Parameters<typeof startDatadogServer>[0];
}

export interface LedgerBridge {
  readonly dd: DatadogTestServer;
  readonly bridge: TestBridge;
  readonly ledger: DynamoLedger;
}

/**
 * The setup of the end-to-end ledger tests: one dynalite for the describe block; in each test, `start` runs the local
 * Datadog server and the real local bridge (test secrets and Datadog keys, 2 s Datadog timeout) on a DynamoLedger of a
 * new table `<tablePrefix>-<n>`; both are closed after the test.
 */
export function ledgerBridgePerTest(tablePrefix: string): { start(options: LedgerBridgeOptions): Promise<LedgerBridge> } {
  let dynamo: LocalDynamo | undefined;
  let tableNo = 0;
  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => {
    await dynamo?.close();
  });
  const closing = closeAfterEach();
  return {
    async start(options) {
      if (dynamo === undefined) throw new Error('ledgerBridgePerTest: start() is for inside a test');
      const dd = closing(await startDatadogServer(options.datadog));
      const tableName = `${tablePrefix}-${++tableNo}`;
      await dynamo.createLedgerTable(tableName);
      const ledger = new DynamoLedger({ client: dynamo.client, tableName });
      const bridge = closing(
        await startTestBridge({
          secrets: { ...TEST_SECRETS, ...DD_KEYS },
          env: { DD_API_URL: dd.url, DD_TIMEOUT_MS: '2000' },
          rules: options.rules,
          overrides: { ledger, now: options.now, ...options.overrides },
        }),
      );
      return { dd, bridge, ledger };
    },
  };
}
