/**
 * The bridge's metrics: CloudWatch EMF through Powertools Metrics in Lambda, in memory locally and
 * in tests, nothing at all by default. The names, namespace and dimension sets are the contract
 * with the dashboard and alarms (METRICS in ./contract.ts, which lib/monitoring.ts reads too):
 * every metric has the dimensions {service, source}, and WebhooksRejected also `reason`.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS } from './contract.js';

/** Counted per source (DatadogLatency, in milliseconds, is recorded with `latency`). */
export type CountMetric = Exclude<(typeof METRICS.bySource)[number], 'DatadogLatency'>;

/** Counted per source and outcome. */
export type OutcomeMetric = (typeof METRICS.bySourceAndOutcome)[number];

/** `source` of a metric whose source is not (or not yet) known: an unconfigured path, an unreadable message. */
export const UNKNOWN_SOURCE = 'unknown';

export interface BridgeMetrics {
  /** Adds `value` (default 1) to a per-source count. */
  count(name: CountMetric, source: string, value?: number): void;
  /** One webhook refused with `reason` (the error code of the answer, e.g. invalid_signature). */
  rejected(source: string, reason: string): void;
  /**
   * Issue 16: one delivery by its journal status (`Deliveries`), or a journal / archive write that
   * failed (`JournalFailed`, `ArchiveFailed`, by what was being written), dimension `outcome`.
   */
  outcome(name: OutcomeMetric, source: string, outcome: string): void;
  /** The duration of one Datadog call, in milliseconds. */
  latency(source: string, ms: number): void;
  /** Writes what was recorded since the last flush (once per invocation). Never throws. */
  flush(): void;
}

/** Drops everything (the default of every handler). */
export const noopMetrics: BridgeMetrics = {
  count: () => undefined,
  rejected: () => undefined,
  outcome: () => undefined,
  latency: () => undefined,
  flush: () => undefined,
};

/** `WebhooksReceived{source=github}`, `WebhooksRejected{reason=invalid_signature,source=github}`. */
export function metricKey(name: string, dimensions: Readonly<Record<string, string>>): string {
  const dims = Object.keys(dimensions)
    .sort()
    .map((k) => `${k}=${dimensions[k]}`)
    .join(',');
  return `${name}{${dims}}`;
}

/** Records in memory (tests, the local bridge); counts survive `flush`. */
export class MemoryMetrics implements BridgeMetrics {
  /** Sums by `metricKey`. */
  readonly counts = new Map<string, number>();
  /** Datadog call durations by source. */
  readonly latencies = new Map<string, number[]>();
  flushes = 0;

  count(name: CountMetric, source: string, value = 1): void {
    this.add(metricKey(name, { source }), value);
  }

  rejected(source: string, reason: string): void {
    this.add(metricKey('WebhooksRejected', { source, reason }), 1);
  }

  outcome(name: OutcomeMetric, source: string, outcome: string): void {
    this.add(metricKey(name, { source, outcome }), 1);
  }

  latency(source: string, ms: number): void {
    const list = this.latencies.get(source);
    if (list) list.push(ms);
    else this.latencies.set(source, [ms]);
  }

  flush(): void {
    this.flushes++;
  }

  /** The sum recorded for a metric and its dimensions (0 when none). */
  get(name: string, dimensions: Readonly<Record<string, string>>): number {
    return this.counts.get(metricKey(name, dimensions)) ?? 0;
  }

  private add(key: string, value: number): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + value);
  }
}

interface DimensionGroup {
  readonly dimensions: Readonly<Record<string, string>>;
  readonly counts: Map<string, number>;
  readonly latencies: number[];
}

/** One EMF document as Powertools serializes it: `_aws` with its metric directives, and the root members they name. */
type EmfDocument = ReturnType<Metrics['serializeMetrics']>;
type EmfDirective = EmfDocument['_aws']['CloudWatchMetrics'][number];

const metricNames = (doc: EmfDocument): Set<string> => new Set(doc._aws.CloudWatchMetrics.flatMap((d: EmfDirective) => d.Metrics.map((m) => m.Name)));

/**
 * Issue 15: the documents of one flush written as few log lines as EMF allows. A document's
 * `CloudWatchMetrics` is a list of directives, each with its own dimension sets and metrics over the
 * root members, so two documents become one when no root member they share differs and no metric is
 * in both: e.g. the {service, source} counts and the {service, source, outcome} `Deliveries` of a
 * webhook. Each metric keeps exactly its own dimensions (none is multiplied); what is saved is the
 * second line's `_aws`, namespace, timestamp and repeated dimension values (about 0.15 KB a webhook).
 */
export function mergeEmf(docs: readonly EmfDocument[]): EmfDocument[] {
  const out: EmfDocument[] = [];
  for (const doc of docs) {
    const names = metricNames(doc);
    const into = out.find((o) => {
      const theirs = metricNames(o);
      if ([...names].some((n) => theirs.has(n))) return false;
      return Object.keys(doc).every((k) => k === '_aws' || !(k in o) || (o[k] === doc[k] && !theirs.has(k) && !names.has(k)));
    });
    if (into === undefined) {
      out.push({ ...doc, _aws: { ...doc._aws, CloudWatchMetrics: [...doc._aws.CloudWatchMetrics] } });
      continue;
    }
    const { _aws, ...members } = doc;
    Object.assign(into, members);
    into._aws.CloudWatchMetrics.push(..._aws.CloudWatchMetrics);
  }
  return out;
}

/** Powertools Metrics that says whether it is disabled (POWERTOOLS_METRICS_DISABLED, or POWERTOOLS_DEV), as its own publishing checks. */
class EmfMetrics extends Metrics {
  writesNothing(): boolean {
    return this.isDisabled();
  }
}

/**
 * CloudWatch EMF through Powertools Metrics. Values are buffered per dimension set ({source},
 * {source, reason} or {source, outcome}); `flush` has Powertools serialize each set (a directive has
 * one dimension set for all its metrics), each with the default `service` dimension, and writes them
 * as few lines as EMF allows (mergeEmf), the way Powertools writes one (a line on stdout). Counts of
 * one set are summed.
 */
export class PowertoolsMetrics implements BridgeMetrics {
  private readonly groups = new Map<string, DimensionGroup>();

  constructor(
    readonly powertools: Metrics = new EmfMetrics({ namespace: METRICS.namespace, serviceName: METRICS.service.value }),
    private readonly write: (line: string) => void = (line) => void process.stdout.write(`${line}\n`),
  ) {}

  count(name: CountMetric, source: string, value = 1): void {
    const counts = this.group(source, undefined, undefined).counts;
    counts.set(name, (counts.get(name) ?? 0) + value);
  }

  rejected(source: string, reason: string): void {
    const counts = this.group(source, 'reason', reason).counts;
    counts.set('WebhooksRejected', (counts.get('WebhooksRejected') ?? 0) + 1);
  }

  outcome(name: OutcomeMetric, source: string, outcome: string): void {
    const counts = this.group(source, 'outcome', outcome).counts;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }

  latency(source: string, ms: number): void {
    this.group(source, undefined, undefined).latencies.push(ms);
  }

  flush(): void {
    const m = this.powertools;
    const docs: EmfDocument[] = [];
    const off = m instanceof EmfMetrics && m.writesNothing();
    try {
      for (const { dimensions, counts, latencies } of this.groups.values()) {
        try {
          for (const [k, v] of Object.entries(dimensions)) m.addDimension(k, v);
          for (const [name, value] of counts) m.addMetric(name, MetricUnit.Count, value);
          for (const ms of latencies) m.addMetric('DatadogLatency', MetricUnit.Milliseconds, Math.round(ms * 100) / 100);
          if (m.hasStoredMetrics() && !off) docs.push(m.serializeMetrics());
        } catch {
          // Metrics never fail a webhook; drop this set and go on with the next.
        } finally {
          m.clearMetrics();
          m.clearDimensions();
        }
      }
      for (const doc of mergeEmf(docs)) this.write(JSON.stringify(doc));
    } catch {
      // Nothing could be written (stdout closed): dropped, never thrown.
    } finally {
      this.groups.clear();
    }
  }

  /** The buffer of one dimension set: {source}, or {source, <name>: value}. */
  private group(source: string, name: 'reason' | 'outcome' | undefined, value: string | undefined): DimensionGroup {
    const key = name === undefined ? source : `${source}\u0000${name}\u0000${value}`;
    let g = this.groups.get(key);
    if (g === undefined) {
      g = { dimensions: name === undefined ? { source } : { source, [name]: value ?? '' }, counts: new Map(), latencies: [] };
      this.groups.set(key, g);
    }
    return g;
  }
}
