import { mkdirSync } from 'node:fs';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { buildApp, type BuildAppOptions } from 'fauxqs';

/** What the local SQS emulator gives the bridge: the same two queues as the stack. */
export interface LocalSqs {
  /** `http://127.0.0.1:<port>`: the SQS endpoint. */
  readonly endpoint: string;
  readonly retryQueueUrl: string;
  readonly retryQueueArn: string;
  readonly dlqUrl: string;
  readonly dlqArn: string;
  /** An SQSClient bound to the emulator (region us-east-1, dummy credentials). */
  readonly client: SQSClient;
  close(): Promise<void>;
}

export interface LocalSqsOptions {
  /** @default 'case-bridge-retry' */
  readonly retryQueueName?: string;
  /** @default 'case-bridge-dlq' */
  readonly dlqName?: string;
  /** Receives before SQS moves a message to the DLQ (as in the stack). @default 5 */
  readonly maxReceiveCount?: number;
  /** Seconds a received message stays invisible. @default 30 */
  readonly visibilityTimeoutSeconds?: number;
  /** @default 0 (a random free port) */
  readonly port?: number;
  /**
   * Keep queues and messages in SQLite under this directory (fauxqs's persistence: every change is
   * written through at once, so a killed process loses nothing it answered). @default in memory
   */
  readonly dataDir?: string;
}

type FauxqsStores = NonNullable<BuildAppOptions['stores']>;

/** fauxqs's SQLite persistence, as its own startFauxqs wires it; the part used here. */
interface FauxqsPersistence {
  load(sqsStore: FauxqsStores['sqsStore'], snsStore: FauxqsStores['snsStore'], s3Store: FauxqsStores['s3Store']): void;
  close(): void;
}

/**
 * Stores restored from, and written through to, SQLite in `dataDir`. fauxqs exports persistence only
 * through startFauxqs(), which listens on 0.0.0.0; the same wiring over its own modules (the exact
 * fauxqs version is pinned) lets the emulator listen on 127.0.0.1 only.
 */
async function persistentStores(dataDir: string): Promise<{ stores: FauxqsStores; persistence: FauxqsPersistence }> {
  const app = import.meta.resolve('fauxqs');
  const load = async <T>(path: string, name: string): Promise<T> => ((await import(new URL(path, app).href)) as Record<string, T>)[name] as T;
  const [SqsStore, SnsStore, S3Store, PersistenceManager] = await Promise.all([
    load<new () => FauxqsStores['sqsStore']>('./sqs/sqsStore.js', 'SqsStore'),
    load<new () => FauxqsStores['snsStore']>('./sns/snsStore.js', 'SnsStore'),
    load<new () => FauxqsStores['s3Store']>('./s3/s3Store.js', 'S3Store'),
    load<new (dir: string) => FauxqsPersistence>('./persistence.js', 'PersistenceManager'),
  ]);
  mkdirSync(dataDir, { recursive: true });
  const stores = { sqsStore: new SqsStore(), snsStore: new SnsStore(), s3Store: new S3Store() };
  const persistence = new PersistenceManager(dataDir);
  // Loaded before persistence is attached (as startFauxqs does), so restoring writes nothing back.
  persistence.load(stores.sqsStore, stores.snsStore, stores.s3Store);
  const manager = persistence as unknown as NonNullable<FauxqsStores['sqsStore']['persistence']>;
  stores.sqsStore.persistence = manager;
  stores.snsStore.persistence = manager;
  stores.s3Store.persistence = manager;
  for (const queue of stores.sqsStore.allQueues()) queue.persistence = manager;
  return { stores, persistence };
}

/** An SQSClient for the emulator: fixed endpoint and region, dummy static credentials. */
export function localSqsClient(endpoint: string): SQSClient {
  return new SQSClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    // The emulator's queue URLs name another host (sqs.us-east-1.localhost); always use `endpoint`.
    useQueueUrlAsEndpoint: false,
    maxAttempts: 2,
  });
}

/**
 * Starts fauxqs (the SQS protocol, in process) on 127.0.0.1 and creates the DLQ and the retry queue
 * with a redrive policy, like the stack does. fauxqs's own startFauxqs() binds 0.0.0.0, hence buildApp.
 */
export async function startLocalSqs(options: LocalSqsOptions = {}): Promise<LocalSqs> {
  const persisted = options.dataDir !== undefined ? await persistentStores(options.dataDir) : undefined;
  const app = buildApp({ logger: false, defaultRegion: 'us-east-1', ...(persisted ? { stores: persisted.stores } : {}) });
  if (persisted) app.addHook('preClose', () => persisted.persistence.close());
  await app.listen({ port: options.port ?? 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('fauxqs did not report a TCP address');
  const endpoint = `http://127.0.0.1:${address.port}`;
  const client = localSqsClient(endpoint);
  try {
    const dlq = await client.send(
      new CreateQueueCommand({ QueueName: options.dlqName ?? 'case-bridge-dlq', Attributes: { MessageRetentionPeriod: String(14 * 24 * 3600) } }),
    );
    const dlqUrl = dlq.QueueUrl ?? '';
    const dlqArn = (await client.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }))).Attributes?.['QueueArn'] ?? '';
    const retry = await client.send(
      new CreateQueueCommand({
        QueueName: options.retryQueueName ?? 'case-bridge-retry',
        Attributes: {
          VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 30),
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: options.maxReceiveCount ?? 5 }),
        },
      }),
    );
    const retryQueueUrl = retry.QueueUrl ?? '';
    const retryQueueArn = (await client.send(new GetQueueAttributesCommand({ QueueUrl: retryQueueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.['QueueArn'] ?? '';
    if (!dlqUrl || !dlqArn || !retryQueueUrl || !retryQueueArn) throw new Error('fauxqs did not return the queue URLs and ARNs');
    return {
      endpoint,
      retryQueueUrl,
      retryQueueArn,
      dlqUrl,
      dlqArn,
      client,
      async close() {
        client.destroy();
        await app.close();
      },
    };
  } catch (error) {
    client.destroy();
    await app.close();
    throw error;
  }
}
