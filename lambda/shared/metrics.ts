/**
 * The bridge's metrics: CloudWatch EMF log lines in Lambda, in memory locally and in tests, nothing
 * at all by default. The names, namespace and dimension sets are the contract with the dashboard and
 * alarms (METRICS in ./contract.ts, which lib/monitoring.ts reads too): every metric has the
 * dimensions {service, source}, and WebhooksRejected also `reason`.
 */
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

/** A metric's unit, as EMF names it (CloudWatch's StandardUnit). */
export type EmfUnit = 'Count' | 'Milliseconds';

/** One directive of an EMF document: a namespace, its dimension sets, and the metrics (root members) they apply to. */
export interface EmfDirective {
  Namespace: string;
  Dimensions: string[][];
  Metrics: { Name: string; Unit: EmfUnit }[];
}

/** One EMF document: `_aws` with its metric directives, and the root members they name (dimension values, metric values). */
export interface EmfDocument {
  _aws: { Timestamp: number; CloudWatchMetrics: EmfDirective[] };
  [member: string]: unknown;
}

/**
 * The limits of the EMF specification (CloudWatch's "Specification: Embedded metric format"): a
 * directive names at most 100 metrics, a dimension set at most 30 dimensions, and a metric's value
 * array holds at most 100 values.
 */
export const EMF_LIMITS = { metricsPerDirective: 100, dimensionsPerSet: 30, valuesPerMetric: 100 } as const;

/** One metric of a dimension set: its name, unit and every value recorded since the last flush. */
export interface EmfMetric {
  readonly name: string;
  readonly unit: EmfUnit;
  readonly values: readonly number[];
}

/**
 * The documents of one dimension set (`service` first, then `dimensions`): one directive each, with
 * at most 100 metrics and at most 100 values a metric (a metric with more goes on in the next
 * document, under the same dimensions); a single value is written as a number, several as an array.
 * A dimension whose value is empty is left out (CloudWatch takes none; Powertools left it out too).
 * Throws when the set has more than 30 dimensions.
 */
export function emfDocuments(namespace: string, dimensions: Readonly<Record<string, string>>, metrics: readonly EmfMetric[], timestamp: number): EmfDocument[] {
  const root: Record<string, string> = { [METRICS.service.name]: METRICS.service.value };
  for (const [k, v] of Object.entries(dimensions)) if (v !== '') root[k] = v;
  const names = Object.keys(root);
  if (names.length > EMF_LIMITS.dimensionsPerSet) throw new RangeError(`an EMF dimension set holds at most ${EMF_LIMITS.dimensionsPerSet} dimensions, not ${names.length}`);
  const out: EmfDocument[] = [];
  const per = EMF_LIMITS.valuesPerMetric;
  for (let start = 0; start < metrics.length; start += EMF_LIMITS.metricsPerDirective) {
    const slice = metrics.slice(start, start + EMF_LIMITS.metricsPerDirective);
    for (let chunk = 0; ; chunk++) {
      const these = slice.filter((m) => m.values.length > chunk * per);
      if (these.length === 0) break;
      const doc: EmfDocument = {
        _aws: { Timestamp: timestamp, CloudWatchMetrics: [{ Namespace: namespace, Dimensions: [names], Metrics: these.map((m) => ({ Name: m.name, Unit: m.unit })) }] },
        ...root,
      };
      for (const m of these) {
        const values = chunk === 0 && m.values.length <= per ? m.values : m.values.slice(chunk * per, (chunk + 1) * per);
        doc[m.name] = values.length === 1 ? values[0] : [...values];
      }
      out.push(doc);
    }
  }
  return out;
}

const metricNames = (doc: EmfDocument): Set<string> => new Set(doc._aws.CloudWatchMetrics.flatMap((d) => d.Metrics.map((m) => m.Name)));

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

/**
 * CloudWatch EMF, one line on stdout per flush (as few as mergeEmf allows). Values are buffered per
 * dimension set ({source}, {source, reason} or {source, outcome}); `flush` makes each set's
 * documents (emfDocuments: the namespace, the `service` dimension, counts summed, each Datadog call's
 * latency a value) and writes them merged.
 *
 * Written by hand rather than with Powertools Metrics because measured better (`npm run bench --
 * --no-storm --stages`, issue 15, three runs each): a first firing's five metrics flushed in 5.2–5.8 us
 * instead of 15.7–20.2 us, and Powertools' metrics, commons and invoke store (17.7 KB) out of the
 * ingest bundle. The documents are the same: test/shared/powertools-reference.test.ts has
 * Powertools serialize the same metrics (and mergeEmf merge them) and compares.
 * Powertools' switches (POWERTOOLS_METRICS_DISABLED, POWERTOOLS_DEV), which the stack never set, are
 * not read: a function that should write no metrics is given noopMetrics.
 */
export class EmfMetrics implements BridgeMetrics {
  private readonly groups = new Map<string, DimensionGroup>();

  constructor(
    private readonly write: (line: string) => void = (line) => void process.stdout.write(`${line}\n`),
    private readonly now: () => number = Date.now,
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
    this.group(source, undefined, undefined).latencies.push(Math.round(ms * 100) / 100);
  }

  flush(): void {
    if (this.groups.size === 0) return;
    try {
      const timestamp = this.now();
      const docs: EmfDocument[] = [];
      for (const { dimensions, counts, latencies } of this.groups.values()) {
        const metrics: EmfMetric[] = [];
        for (const [name, value] of counts) metrics.push({ name, unit: 'Count', values: [value] });
        if (latencies.length > 0) metrics.push({ name: 'DatadogLatency', unit: 'Milliseconds', values: latencies });
        docs.push(...emfDocuments(METRICS.namespace, dimensions, metrics, timestamp));
      }
      for (const doc of mergeEmf(docs)) {
        try {
          this.write(JSON.stringify(doc));
        } catch {
          // A line that could not be written is dropped; the flush's other lines are still written.
        }
      }
    } catch {
      // Metrics never fail a webhook: what could not be written (stdout closed) is dropped.
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
