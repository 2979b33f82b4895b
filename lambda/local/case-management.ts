import { join } from 'node:path';
import type { SecretBag, SecretsProvider } from '../shared/secrets.js';
import * as z from '../shared/zod.js';
import { startDatadogServer, type DatadogTestServer, type RateLimitOptions, type StoredCase } from './datadog-server.js';

// The local Case Management: with no Datadog keys in the secret, `npm start` sends its cases to the
// stand-in of lambda/local/datadog-server.ts on 127.0.0.1 instead of a plain dry run, so that create,
// repeat, resolve and reopen can be seen on a fresh clone.

/** The keys the bridge sends to the stand-in, which accepts no others (403, as Datadog answers). */
export const LOCAL_DATADOG_KEYS = { DD_API_KEY: 'local-case-management-api-key', DD_APP_KEY: 'local-case-management-app-key' } as const;

/** Creates, comments and status changes share one window, so every answer carries X-RateLimit-* headers. */
export const LOCAL_RATE_LIMIT: RateLimitOptions = { limit: 100, periodSeconds: 10, name: 'cases_write', includeUpdates: true };

/** Local only (never deployed): the bridge lists the stand-in's cases here as JSON (`npm run cases`). */
export const LOCAL_CASES_ROUTE = '/local/cases';

/** Beside the ledger and the queues in the directory of `npm run state`. */
export const LOCAL_CASES_FILE = 'datadog-cases.json';

/** Which Datadog the local bridge talks to (the start-up banner says it). */
export type DatadogTarget =
  | { readonly kind: 'dry_run'; readonly reason: 'CASE_BRIDGE_DRY_RUN is set' | 'the secret has no DD_API_KEY and DD_APP_KEY' }
  | { readonly kind: 'datadog'; readonly url: string }
  | { readonly kind: 'local'; readonly url: string; readonly file: string | undefined };

/** Starts the stand-in, its cases kept in `<stateDir>/datadog-cases.json` when a state directory is given. */
export async function startLocalCaseManagement(stateDir: string | undefined): Promise<DatadogTestServer & { readonly file: string | undefined }> {
  const file = stateDir === undefined ? undefined : join(stateDir, LOCAL_CASES_FILE);
  const server = await startDatadogServer({
    apiKey: LOCAL_DATADOG_KEYS.DD_API_KEY,
    appKey: LOCAL_DATADOG_KEYS.DD_APP_KEY,
    rateLimit: LOCAL_RATE_LIMIT,
    ...(file !== undefined ? { file } : {}),
  });
  return Object.assign(server, { file });
}

/** The secret with the stand-in's keys in place of any Datadog keys (decided once, at start). */
export function withLocalDatadogKeys(secrets: SecretsProvider): SecretsProvider {
  const add = (bag: SecretBag): SecretBag => ({ ...bag, ...LOCAL_DATADOG_KEYS });
  return {
    get: async () => add(await secrets.get()),
    refresh: async () => add(await secrets.refresh()),
  };
}

const Text = z.optional(z.string());

/** The answer of `GET /local/cases` (the local bridge only): the stand-in's URL and its cases, oldest first. */
export const LocalCasesListingSchema = z.object({
  datadog: z.string(),
  cases: z.array(
    z.object({
      id: z.string(),
      key: z.string(),
      title: Text,
      status: Text,
      statusName: Text,
      priority: Text,
      createdAt: Text,
      closedAt: Text,
      comments: z.array(z.string()),
      statusChanges: z.array(z.string()),
      /** The key of the case this one succeeds (a link SUCCESSOR_OF: a new case after the reopen window, #17). */
      successorOf: Text,
    }),
  ),
});
export type LocalCasesListing = z.infer<typeof LocalCasesListingSchema>;

/** One line per case: key, status, comments, title (and the case it succeeds). */
export function formatLocalCases(listing: LocalCasesListing): string {
  const rows = listing.cases.map((c) => [c.key, c.statusName ?? c.status ?? '', `${c.comments.length} comment${c.comments.length === 1 ? '' : 's'}`, `${c.title ?? ''}${c.successorOf !== undefined ? `  (after ${c.successorOf})` : ''}`]);
  const widths = [0, 1, 2].map((i) => Math.max(0, ...rows.map((r) => r[i]?.length ?? 0)));
  const lines = rows.map((r) => r.map((cell, i) => (i < 3 ? cell.padEnd(widths[i] ?? 0) : cell)).join('  '));
  return [`${listing.cases.length} case${listing.cases.length === 1 ? '' : 's'} in the local Case Management ${listing.datadog}`, ...lines].join('\n') + '\n';
}

/** One case of the stand-in as `GET /local/cases` lists it; `server`: its cases and links, for the case it succeeds. */
export function describeLocalCase(stored: StoredCase, server: Pick<DatadogTestServer, 'cases' | 'links'>): LocalCasesListing['cases'][number] {
  const previous = server.links.find((l) => l.parentCaseId === stored.id && l.relationship === 'SUCCESSOR_OF')?.childCaseId;
  const a = stored.response.data.attributes;
  const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
  return {
    id: stored.id,
    key: stored.key,
    title: text(a['title']),
    status: text(a['status']),
    statusName: text(a['status_name']),
    priority: text(a['priority']),
    createdAt: text(a['created_at']),
    closedAt: text(a['closed_at']),
    comments: stored.comments,
    statusChanges: stored.statusChanges,
    successorOf: server.cases.find((c) => c.id === previous)?.key,
  };
}
