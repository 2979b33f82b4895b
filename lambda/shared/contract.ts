/**
 * Every name the stack (lib/) and the functions (lambda/) must agree on, defined once and imported by
 * both: the metrics the dashboard and alarms read, the environment variables the stack sets and the
 * functions read, and the ledger table's key attributes.
 */

/**
 * The metrics (Powertools Metrics, EMF): namespace, the default `service` dimension Powertools adds
 * from `serviceName`, and every metric with the dimension set it is emitted with. A metric emitted
 * with another dimension set is a different CloudWatch metric and would not show on the dashboard.
 */
export const METRICS = {
  namespace: 'CaseBridge',
  /** Powertools' default dimension: `new Metrics({ namespace, serviceName: service.value })`. */
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
  ],
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
} as const;

/** The DynamoDB ledger table's partition key and TTL attribute. */
export const LEDGER_TABLE = {
  partitionKey: 'pk',
  ttlAttribute: 'expiresAt',
} as const;
