import { COMMENTS_PAGE_SIZE, type CaseStatusUpdate, type CaseSummary, type CreatedCase, type DatadogClient, type DatadogKeys } from '../../lambda/datadog/client.js';
import type { CaseCreateRequest } from '../../lambda/datadog/schema.js';
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, SQSRecord } from 'aws-lambda';
import { encodeQueuedMessage, QUEUED_MESSAGE_VERSION, type PendingAction } from '../../lambda/delivery/queue.js';
import { dedupMarker } from '../../lambda/ledger/marker.js';
import type { LedgerEntry } from '../../lambda/ledger/types.js';
import { DatadogError } from '../../lambda/shared/errors.js';

/** API Gateway's event (payload 2.0) of a POST to /webhooks/<source>: `headers` lower-cased, as API Gateway hands them. */
export function webhookEvent(source: string, body: string, headers: Readonly<Record<string, string>>): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'POST /webhooks/{source}',
    rawPath: `/webhooks/${source}`,
    rawQueryString: '',
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
    pathParameters: { source },
    requestContext: { requestId: randomUUID() } as APIGatewayProxyEventV2['requestContext'],
    body,
    isBase64Encoded: false,
  };
}

/** The SQS record the retry function receives for `action`, queued at `at` (ms) for `reason`. */
export function queuedRecord(id: string, action: PendingAction, reason: string, at: number): SQSRecord {
  return {
    messageId: `m-${id}`,
    receiptHandle: `r-${id}`,
    body: encodeQueuedMessage({ v: QUEUED_MESSAGE_VERSION, disposition: 'retry', action, reason, enqueuedAt: at }),
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(at), SenderId: 'test', ApproximateFirstReceiveTimestamp: String(at) },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:retry',
    awsRegion: 'us-east-1',
  };
}

/** A case the fake Datadog holds. */
/**
 * The ledger entry of an alert whose first case (generation 0, intent `intent-1`) was created and opened at `at`:
 * state open, one occurrence, already reported, never reopened.
 */
export function openLedgerEntry(key: { source: string; identity: string }, at: number, theCase: { caseId: string; caseKey: string }): LedgerEntry {
  return {
    ...key,
    state: 'open',
    generation: 0,
    marker: dedupMarker(key.source, key.identity),
    intentId: 'intent-1',
    createStartedAt: at,
    ...theCase,
    firstSeen: at,
    lastSeen: at,
    occurrences: 1,
    commentedOccurrences: 1,
    openedAt: at,
    reopenCount: 0,
  };
}

export interface FakeCase {
  readonly id: string;
  readonly key: string;
  readonly request: CaseCreateRequest;
  status: string;
  statusName: string;
  readonly comments: string[];
}

/** A link the fake Datadog holds: `caseId` SUCCESSOR_OF `previousCaseId`. */
export interface FakeLink {
  readonly caseId: string;
  readonly previousCaseId: string;
}

/** The fake Datadog: every DatadogClient call, over `cases`; `calls` names each call made (with its keys). */
export interface FakeDatadog extends DatadogClient {
  readonly cases: FakeCase[];
  readonly links: FakeLink[];
  readonly calls: { readonly name: keyof DatadogClient; readonly keys: DatadogKeys }[];
}

function missing(caseId: string): DatadogError {
  return new DatadogError(`Datadog answered 404: no case ${caseId}`, { status: 404, retryable: false });
}

function summaryOf(c: FakeCase): CaseSummary {
  return {
    id: c.id,
    key: c.key,
    status: c.status,
    statusName: c.statusName,
    statusGroup: c.status === 'CLOSED' ? 'SG_CLOSED' : 'SG_OPEN',
    description: c.request.data.attributes.description,
    createdAt: undefined,
    closedAt: undefined,
  };
}

/**
 * The one builder of Datadog fakes for unit tests: an in-memory Datadog implementing the whole
 * DatadogClient (creates kept in order, comments and status changes applied, search by marker in
 * the description, successor links kept in `links`, 404 for an unknown case). `overrides` replaces any call, to script failures or
 * answers; the calls not overridden keep working on the same cases. (End-to-end tests use the local
 * Datadog-compatible server in lambda/local/datadog-server.ts instead.)
 */
export function fakeDatadog(overrides: Partial<DatadogClient> = {}): FakeDatadog {
  const cases: FakeCase[] = [];
  const links: FakeLink[] = [];
  const calls: { name: keyof DatadogClient; keys: DatadogKeys }[] = [];
  const find = (caseId: string): FakeCase => {
    const found = cases.find((c) => c.id === caseId);
    if (found === undefined) throw missing(caseId);
    return found;
  };
  const own: DatadogClient = {
    async createCase(request): Promise<CreatedCase> {
      const n = cases.length + 1;
      const created: FakeCase = { id: `case-${n}`, key: `CASE-${n}`, request, status: 'OPEN', statusName: 'Open', comments: [] };
      cases.push(created);
      return { id: created.id, key: created.key, statusName: created.statusName };
    },
    async addComment(caseId, text) {
      find(caseId).comments.push(text);
      return { commentId: undefined };
    },
    async setStatus(caseId, status: CaseStatusUpdate) {
      const c = find(caseId);
      if (typeof status === 'string') {
        c.status = status;
        c.statusName = status;
      } else {
        c.statusName = status.statusName;
      }
      return summaryOf(c);
    },
    async getCase(caseId) {
      return summaryOf(find(caseId));
    },
    async findCaseByMarker(marker) {
      const c = cases.find((x) => x.request.data.attributes.description?.includes(marker) === true);
      return c === undefined ? undefined : summaryOf(c);
    },
    async listComments(caseId, { pages }) {
      const c = cases.find((x) => x.id === caseId);
      if (c === undefined) return { checked: false, status: 404, reason: `no case ${caseId}` };
      const newestFirst = c.comments.map((message, i) => ({ id: `${c.id}-comment-${i}`, message, createdAt: undefined })).reverse();
      return { checked: true, comments: newestFirst.slice(0, pages * COMMENTS_PAGE_SIZE) };
    },
    async linkSuccessor(caseId, previousCaseId) {
      find(caseId);
      find(previousCaseId);
      links.push({ caseId, previousCaseId });
      return { linkId: `link-${links.length}`, existed: false };
    },
    async isSuccessorLinked(caseId, previousCaseId) {
      return links.some((l) => l.caseId === caseId && l.previousCaseId === previousCaseId);
    },
  };
  const impl = { ...own, ...overrides };
  const record =
    <K extends keyof DatadogClient>(name: K) =>
    (...args: Parameters<DatadogClient[K]>): ReturnType<DatadogClient[K]> => {
      calls.push({ name, keys: args[args.length - 1] as DatadogKeys });
      return (impl[name] as (...a: Parameters<DatadogClient[K]>) => ReturnType<DatadogClient[K]>)(...args);
    };
  return {
    cases,
    links,
    calls,
    createCase: record('createCase'),
    addComment: record('addComment'),
    setStatus: record('setStatus'),
    getCase: record('getCase'),
    findCaseByMarker: record('findCaseByMarker'),
    listComments: record('listComments'),
    linkSuccessor: record('linkSuccessor'),
    isSuccessorLinked: record('isSuccessorLinked'),
  };
}
