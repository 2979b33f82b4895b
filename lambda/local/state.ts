import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../shared/errors.js';
import * as z from '../shared/zod.js';
import { startLocalSqs } from './fauxqs.js';
import { LOCAL_LEDGER_TABLE, localDynamoClient, startLocalLedger } from './ledger.js';
import { createArchiveBucket, createJournalTable, LOCAL_ARCHIVE_BUCKET, LOCAL_JOURNAL_TABLE, localS3Client } from './journal.js';

/** `.case-bridge/` at the repository root (gitignored); CASE_BRIDGE_STATE_DIR overrides it. */
export const DEFAULT_STATE_DIR = fileURLToPath(new URL('../../.case-bridge/', import.meta.url));

const Url = z.string().check(z.regex(/^http:\/\/127\.0\.0\.1:\d+(?:\/|$)/, 'an http://127.0.0.1:<port> URL'));
const Text = z.string().check(z.minLength(1));

/** The line `npm run state` prints, and what `npm start` reads from CASE_BRIDGE_STATE. */
export const LocalStateSchema = z.object({
  ledgerEndpoint: Url,
  tableName: Text,
  sqsEndpoint: Url,
  retryQueueUrl: Text,
  retryQueueArn: Text,
  dlqUrl: Text,
  dlqArn: z.optional(Text),
  /** The delivery journal's table, beside the ledger's (issue 16; absent in lines of earlier versions: then LOCAL_JOURNAL_TABLE). */
  journalTable: z.optional(Text),
  /** The raw archive's bucket in the queue emulator's S3 (issue 16; absent: LOCAL_ARCHIVE_BUCKET). */
  archiveBucket: z.optional(Text),
  /** Where the state is kept on disk. */
  dir: z.optional(Text),
});
export type LocalState = z.infer<typeof LocalStateSchema>;

/** Reads CASE_BRIDGE_STATE: the JSON object `npm run state` printed. */
export function parseLocalState(text: string): LocalState {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError('CASE_BRIDGE_STATE is not JSON: set it to the line `npm run state` prints');
  }
  const parsed = LocalStateSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(object)'}: ${i.message}`);
    throw new ConfigError(`CASE_BRIDGE_STATE is not the line \`npm run state\` prints (${issues.join('; ')})`);
  }
  return parsed.data;
}

export interface RunningState {
  readonly state: LocalState;
  close(): Promise<void>;
}

/** The ports of the last run, kept beside the data so that a restart answers on the same endpoints. */
const PortsSchema = z.object({ ledger: z.number().check(z.int()), sqs: z.number().check(z.int()) });

function lastPorts(dir: string): { ledger: number; sqs: number } | undefined {
  try {
    const parsed = PortsSchema.safeParse(JSON.parse(readFileSync(join(dir, 'ports.json'), 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Listens on `port`, or on a free port when that one is taken. */
async function onPortOrAny<T>(port: number | undefined, start: (port: number) => Promise<T>): Promise<T> {
  if (port === undefined) return start(0);
  try {
    return await start(port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    return start(0);
  }
}

/**
 * The bridge's state in its own process: the dedup ledger and the delivery journal (dynalite, LevelDB
 * under `<dir>/ledger`), the retry queue with its DLQ and the raw archive's bucket (fauxqs, SQLite under
 * `<dir>/sqs`), both on 127.0.0.1. Every
 * write is on disk before it is answered, so killing this process (or `npm start`) loses nothing
 * that was acknowledged. A restart on the same directory reuses the last ports when they are free.
 */
export async function startLocalState(options: { dir?: string } = {}): Promise<RunningState> {
  const dir = resolve(options.dir ?? DEFAULT_STATE_DIR);
  const ports = lastPorts(dir);
  let ledger: Awaited<ReturnType<typeof startLocalLedger>>;
  try {
    ledger = await onPortOrAny(ports?.ledger, (port) => startLocalLedger({ port, path: join(dir, 'ledger'), tableName: LOCAL_LEDGER_TABLE }));
  } catch (error) {
    // LevelDB locks its directory: a second `npm run state` on the same directory ends here.
    throw new ConfigError(`cannot open the ledger in ${join(dir, 'ledger')} (is another npm run state using ${dir}?)`, { cause: error });
  }
  try {
    const sqs = await onPortOrAny(ports?.sqs, (port) => startLocalSqs({ port, dataDir: join(dir, 'sqs') }));
    const dynamo = localDynamoClient(ledger.endpoint);
    const s3 = localS3Client(sqs.endpoint);
    try {
      await createJournalTable(dynamo, LOCAL_JOURNAL_TABLE, { ifMissing: true });
      await createArchiveBucket(s3, LOCAL_ARCHIVE_BUCKET);
    } catch (error) {
      await sqs.close();
      throw error;
    } finally {
      dynamo.destroy();
      s3.destroy();
    }
    const portOf = (url: string) => Number(new URL(url).port);
    writeFileSync(join(dir, 'ports.json'), `${JSON.stringify({ ledger: portOf(ledger.endpoint), sqs: portOf(sqs.endpoint) })}\n`);
    return {
      state: {
        ledgerEndpoint: ledger.endpoint,
        tableName: ledger.tableName,
        sqsEndpoint: sqs.endpoint,
        retryQueueUrl: sqs.retryQueueUrl,
        retryQueueArn: sqs.retryQueueArn,
        dlqUrl: sqs.dlqUrl,
        dlqArn: sqs.dlqArn,
        journalTable: LOCAL_JOURNAL_TABLE,
        archiveBucket: LOCAL_ARCHIVE_BUCKET,
        dir,
      },
      async close() {
        await sqs.close();
        await ledger.close();
      },
    };
  } catch (error) {
    await ledger.close();
    throw error;
  }
}
