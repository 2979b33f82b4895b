import type { S3Client } from '@aws-sdk/client-s3';
import * as z from '../shared/zod.js';
import type { S3Put, S3PutInput } from './s3-put.js';
import {
  archivableHeaders,
  archiveKey,
  ArchiveError,
  daysBetween,
  parseArchiveKey,
  timeOfDeliveryId,
  type Archive,
  type ArchivedDelivery,
  type ArchiveEntry,
  type ArchiveFilter,
  type ArchiveItem,
} from './types.js';

// One object per delivery, key `<source>/<YYYY-MM-DD>/<delivery id>`: the body is the exact bytes
// received; the headers (credentials dropped) are the user metadata `headers` (URI-encoded JSON), or,
// when they do not fit in S3's 2 KB of user metadata, a second object `<key>.headers.json`.
// Encryption (SSE), TLS only, public access block and expiry are the bucket's (lib/journal.ts).

/** Room for the encoded headers in the user metadata (S3 allows 2 KB in all, names included). */
const METADATA_HEADERS_MAX = 1800;
const SIDECAR = '.headers.json';

export interface S3ArchiveOptions {
  readonly client: S3Client | (() => Promise<S3Client>);
  readonly bucket: string;
  /** Sources `list` looks through when the filter names none. */
  readonly sources: readonly string[];
  readonly now?: () => number;
  /** PutObject without the SDK's S3 client (the Lambda functions: lambda/journal/s3-put.ts). @default the client's PutObjectCommand */
  readonly put?: S3Put;
}

type Sdk = typeof import('../shared/sdk-s3.js');

function isMissing(error: unknown): boolean {
  return error instanceof Error && (error.name === 'NoSuchKey' || error.name === 'NotFound');
}

const headersSchema = z.lazily(() => z.record(z.string(), z.string()));

/** The headers stored with an archived object, checked: a map of strings, or ArchiveError (never passed on unchecked). */
function storedHeaders(key: string, text: string): Record<string, string> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ArchiveError(`the archived delivery ${key} has headers that are not JSON`, { cause: error });
  }
  const parsed = z.safeParse(headersSchema(), json);
  if (!parsed.success) throw new ArchiveError(`the archived delivery ${key} has headers that are not a map of strings`, { cause: parsed.error });
  return parsed.data;
}

/** The raw archive in S3 (deployed), or in the S3 emulation of the local queue emulator. */
export class S3Archive implements Archive {
  private loaded: Promise<{ sdk: Sdk; client: S3Client }> | undefined;

  constructor(private readonly options: S3ArchiveOptions) {}

  private load(): Promise<{ sdk: Sdk; client: S3Client }> {
    this.loaded ??= (async () => {
      const { client } = this.options;
      const [sdk, c] = await Promise.all([import('../shared/sdk-s3.js'), typeof client === 'function' ? client() : client]);
      return { sdk, client: c };
    })().catch((error: unknown) => {
      this.loaded = undefined;
      throw error;
    });
    return this.loaded;
  }

  private async guarded<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof ArchiveError) throw error;
      throw new ArchiveError(`the raw archive failed (${what}): ${(error as Error).message}`, { cause: error });
    }
  }

  async put(entry: ArchiveEntry): Promise<{ key: string }> {
    const key = archiveKey(entry.source, entry.receivedAt, entry.id);
    const headers = archivableHeaders(entry.headers);
    const encoded = encodeURIComponent(JSON.stringify(headers));
    const inline = encoded.length <= METADATA_HEADERS_MAX;
    return this.guarded(`put ${key}`, async () => {
      const putObject = this.options.put ?? (async (input: S3PutInput) => {
        const { sdk, client } = await this.load();
        await client.send(new sdk.PutObjectCommand({ Bucket: this.options.bucket, ...input, ...(input.Metadata === undefined ? {} : { Metadata: { ...input.Metadata } }) }));
      });
      const Metadata: Record<string, string> = { source: entry.source, id: entry.id, 'received-at': String(entry.receivedAt), headers: inline ? encoded : 'sidecar' };
      if (entry.rejected === true) Metadata['rejected'] = 'true';
      const puts = [putObject({ Key: key, Body: entry.body, ContentType: 'application/octet-stream', Metadata })];
      if (!inline) puts.push(putObject({ Key: `${key}${SIDECAR}`, Body: JSON.stringify(headers), ContentType: 'application/json' }));
      await Promise.all(puts);
      return { key };
    });
  }

  async get(key: string): Promise<ArchivedDelivery | undefined> {
    const parts = parseArchiveKey(key);
    if (parts === undefined) return undefined;
    return this.guarded(`get ${key}`, async () => {
      const { sdk, client } = await this.load();
      const Bucket = this.options.bucket;
      let out;
      try {
        out = await client.send(new sdk.GetObjectCommand({ Bucket, Key: key }));
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
      const body = (await out.Body?.transformToByteArray()) ?? new Uint8Array();
      const meta = out.Metadata ?? {};
      const text = meta['headers'] === 'sidecar' ? await (await client.send(new sdk.GetObjectCommand({ Bucket, Key: `${key}${SIDECAR}` }))).Body?.transformToString() : decodeURIComponent(meta['headers'] ?? '%7B%7D');
      const headers = storedHeaders(key, text ?? '{}');
      const stamped = Number(meta['received-at']);
      const receivedAt = Number.isSafeInteger(stamped) && stamped >= 0 ? stamped : (timeOfDeliveryId(parts.id) ?? out.LastModified?.getTime() ?? 0);
      return { key, source: parts.source, id: parts.id, receivedAt, body, headers: archivableHeaders(headers), ...(meta['rejected'] === 'true' ? { rejected: true } : {}) };
    });
  }

  async list(filter: ArchiveFilter): Promise<ArchiveItem[]> {
    const until = filter.until ?? (this.options.now ?? Date.now)() + 1;
    const limit = filter.limit ?? 1000;
    const sources = filter.source === undefined ? this.options.sources : [filter.source];
    return this.guarded('list', async () => {
      const { sdk, client } = await this.load();
      const items: ArchiveItem[] = [];
      for (const day of daysBetween(filter.since, until)) {
        for (const source of sources) {
          let token: string | undefined;
          do {
            const out = await client.send(new sdk.ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: `${source}/${day}/`, ...(token === undefined ? {} : { ContinuationToken: token }) }));
            for (const o of out.Contents ?? []) {
              const parts = o.Key === undefined || o.Key.endsWith(SIDECAR) ? undefined : parseArchiveKey(o.Key);
              if (parts === undefined) continue;
              const receivedAt = timeOfDeliveryId(parts.id) ?? o.LastModified?.getTime() ?? 0;
              if (receivedAt >= filter.since && receivedAt < until) items.push({ key: o.Key!, source: parts.source, id: parts.id, receivedAt, size: o.Size ?? 0 });
            }
            token = out.IsTruncated === true ? out.NextContinuationToken : undefined;
          } while (token !== undefined);
        }
      }
      return items.sort((a, b) => a.receivedAt - b.receivedAt || (a.key < b.key ? -1 : 1)).slice(0, limit);
    });
  }
}
