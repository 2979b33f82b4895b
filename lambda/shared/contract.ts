/**
 * Every name the stack (lib/) and the functions (lambda/) must agree on, defined once and imported by
 * both: the metrics the dashboard and alarms read, the environment variables the stack sets and the
 * functions read, and the ledger table's key attributes.
 */

/**
 * The metrics (EMF, lambda/shared/metrics.ts): namespace, the `service` dimension every dimension set
 * starts with, and every metric with the dimension set it is emitted with. A metric emitted
 * with another dimension set is a different CloudWatch metric and would not show on the dashboard.
 */
export const METRICS = {
  namespace: 'CaseBridge',
  /** The dimension every metric has (first in each dimension set). */
  service: { name: 'service', value: 'case-bridge' },
  /** Dimensions {service, source}. */
  bySource: [
    'WebhooksReceived',
    // Webhooks whose signature or credential verified (and trusted events): the silence alarms read it.
    'WebhooksVerified',
    'CasesCreated',
    'RateLimited',
    'RetriesEnqueued',
    'RetriesSucceeded',
    'DeadLettered',
    'DatadogLatency',
    // The lifecycle (issue 4): see lambda/delivery/run.ts for what each counts.
    'CasesDeduplicated',
    'CasesCommented',
    'CasesClosed',
    'CasesReopened',
    // Issue 13: an event older than the alert's latest firing (a resolve) or resolve (a firing), ignored.
    'EventsOutOfOrder',
    // Issue 16: one per delivery, by its journal status (dimension `outcome`) — see bySourceAndOutcome.
  ],
  /** Dimensions {service, source, outcome}: Deliveries by their journal status; JournalFailed / ArchiveFailed by which write failed. */
  bySourceAndOutcome: ['Deliveries', 'JournalFailed', 'ArchiveFailed'],
  /** Dimensions {service, source, reason}. */
  bySourceAndReason: ['WebhooksRejected'],
  /** The `reason` of a WebhooksRejected whose signature did not verify (the answer's error code). */
  invalidSignatureReason: 'invalid_signature',
  /** Requests API Gateway answered 429, from the API access log (lib/ingest-api.ts); dimension: the API's id. */
  apiThrottled: { metricName: 'ApiThrottled', dimension: 'ApiId' },
} as const;

export type MetricName = (typeof METRICS.bySource)[number] | (typeof METRICS.bySourceAndReason)[number];

/** The environment variables the stack sets on the functions (lambda/shared/env.ts parses them all). */
export const ENV = {
  /** Secrets Manager secret (name or ARN) holding the Datadog keys and the webhook secrets. */
  secretId: 'CASE_BRIDGE_SECRET_ID',
  /** Datadog site. */
  datadogSite: 'DD_SITE',
  /** URL of the SQS retry queue. */
  retryQueueUrl: 'CASE_BRIDGE_RETRY_QUEUE_URL',
  /** URL of the SQS dead-letter queue. */
  dlqUrl: 'CASE_BRIDGE_DLQ_URL',
  /** Name of the DynamoDB dedup ledger table. */
  ledgerTable: 'CASE_BRIDGE_LEDGER_TABLE',
  /** Name of the DynamoDB delivery journal table (issue 16). */
  journalTable: 'CASE_BRIDGE_JOURNAL_TABLE',
  /** Days a journal record is kept (its TTL). */
  journalRetentionDays: 'CASE_BRIDGE_JOURNAL_RETENTION_DAYS',
  /** Name of the S3 raw archive bucket (issue 16). */
  archiveBucket: 'CASE_BRIDGE_ARCHIVE_BUCKET',
  /** `true`: rejected deliveries (bad signature, malformed, …) are archived too. */
  archiveRejected: 'CASE_BRIDGE_ARCHIVE_REJECTED',
  /** Which deliveries the ingest archives: `all`, `failed` or `off` (ARCHIVE_MODES). */
  archiveMode: 'CASE_BRIDGE_ARCHIVE',
} as const;

/**
 * Which deliveries the raw archive keeps (`-c archive=…`, issue 16; its cost per webhook in
 * docs/cost.md): `all` (the default) every delivery, as it arrives; `failed` only those not done when
 * answered (queued, dead-lettered, in progress, answered 5xx: the ones a replay may be needed for),
 * put once the outcome is known; `off` none (the bucket stays, with what it holds, and replay still
 * reads it). Refused deliveries follow `archiveRejected`, except with `off`.
 */
export const ARCHIVE_MODES = ['all', 'failed', 'off'] as const;
export type ArchiveMode = (typeof ARCHIVE_MODES)[number];

/**
 * The delivery journal table (issue 16): one item per delivery by `id`; the index `bySourceDay`
 * (`<source>#<YYYY-MM-DD>`, sorted by `receivedAt`) lists a source's deliveries of a day; `expiresAt`
 * (epoch seconds) is the TTL attribute.
 */
export const JOURNAL_TABLE = {
  partitionKey: 'id',
  ttlAttribute: 'expiresAt',
  index: 'bySourceDay',
  indexPartitionKey: 'sourceDay',
  indexSortKey: 'receivedAt',
} as const;

/** Retention defaults (days): the journal's TTL and the archive bucket's lifecycle expiry (`-c journalRetentionDays`, `-c archiveRetentionDays`). */
export const RETENTION_DEFAULTS = { journalDays: 14, archiveDays: 30 } as const;

/** The DynamoDB ledger table's partition key and TTL attribute. */
export const LEDGER_TABLE = {
  partitionKey: 'pk',
  ttlAttribute: 'expiresAt',
} as const;
