import { afterEach, describe, expect, it, vi } from 'vitest';
import { METRICS } from '../../lambda/shared/contract.js';
import {
  EMF_LIMITS,
  emfDocuments,
  EmfMetrics,
  MemoryMetrics,
  noopMetrics,
} from '../../lambda/shared/metrics.js';

interface Emf {
  _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  [key: string]: unknown;
}

/** The EMF documents written on process.stdout (EmfMetrics' default) while `fn` runs. */
function captureEmf(fn: () => void): Emf[] {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    fn();
  } finally {
    spy.mockRestore();
  }
  return lines
    .flatMap((chunk) => chunk.split('\n'))
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Emf)
    .filter((doc) => doc._aws !== undefined);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('EmfMetrics', () => {
  it('writes each dimension set as its own directive, with the namespace, the service dimension and the values, in one document (#15)', () => {
    const metrics = new EmfMetrics();
    const docs = captureEmf(() => {
      metrics.rejected('github', METRICS.invalidSignatureReason);
      metrics.count('WebhooksReceived', 'github');
      metrics.count('WebhooksReceived', 'github');
      metrics.count('CasesCreated', 'github');
      metrics.latency('github', 12.5);
      metrics.flush();
    });
    expect(docs).toHaveLength(1);
    const doc = docs[0]!;
    const directives = doc._aws.CloudWatchMetrics;
    expect(directives).toHaveLength(2);
    // Each metric is under its own dimension set only: none is multiplied by the other set's dimensions.
    expect(directives.find((d) => d.Metrics.some((x) => x.Name === 'WebhooksRejected'))).toEqual({
      Namespace: 'CaseBridge',
      Dimensions: [['service', 'source', 'reason']],
      Metrics: [{ Name: 'WebhooksRejected', Unit: 'Count' }],
    });
    const directive = directives.find((d) => d.Metrics.some((x) => x.Name === 'CasesCreated'));
    expect(directive?.Namespace).toBe('CaseBridge');
    expect(directive?.Dimensions).toEqual([['service', 'source']]);
    expect(directive?.Metrics).toHaveLength(3);
    expect(directive?.Metrics).toEqual(
      expect.arrayContaining([
        { Name: 'WebhooksReceived', Unit: 'Count' },
        { Name: 'CasesCreated', Unit: 'Count' },
        { Name: 'DatadogLatency', Unit: 'Milliseconds' },
      ]),
    );
    expect(doc).toMatchObject({ service: 'case-bridge', source: 'github', reason: 'invalid_signature', WebhooksRejected: 1, WebhooksReceived: 2, CasesCreated: 1, DatadogLatency: 12.5 });
  });

  it('keeps in separate documents the sets whose dimension values differ (two outcomes, two sources)', () => {
    const metrics = new EmfMetrics();
    const docs = captureEmf(() => {
      metrics.count('WebhooksReceived', 'github');
      metrics.outcome('Deliveries', 'github', 'created');
      metrics.outcome('JournalFailed', 'github', 'record');
      metrics.count('WebhooksReceived', 'sentry');
      metrics.flush();
    });
    expect(docs).toHaveLength(3);
    const shapes = docs.map((d) => d._aws.CloudWatchMetrics.map((x) => `${x.Dimensions.join('|')}:${x.Metrics.map((y) => y.Name).join()}`).sort());
    expect(shapes).toEqual([['service,source,outcome:Deliveries', 'service,source:WebhooksReceived'], ['service,source,outcome:JournalFailed'], ['service,source:WebhooksReceived']]);
    expect(docs[0]).toMatchObject({ source: 'github', outcome: 'created', Deliveries: 1, WebhooksReceived: 1 });
    expect(docs[1]).toMatchObject({ source: 'github', outcome: 'record', JournalFailed: 1 });
    expect(docs[2]).toMatchObject({ source: 'sentry', WebhooksReceived: 1 });
  });

  it('starts over after a flush and writes nothing (not even a warning) when nothing was recorded', () => {
    const metrics = new EmfMetrics();
    // Powertools warned on stderr when it published nothing; nothing is written now either.
    const stderr = vi.spyOn(process.stderr, 'write');
    const first = captureEmf(() => {
      metrics.count('RateLimited', 'pagerduty');
      metrics.flush();
    });
    expect(first).toHaveLength(1);
    expect(captureEmf(() => metrics.flush())).toEqual([]);
    const second = captureEmf(() => {
      metrics.count('RetriesEnqueued', 'pagerduty');
      metrics.flush();
    });
    expect(second[0]).toMatchObject({ source: 'pagerduty', RetriesEnqueued: 1 });
    expect(second[0]).not.toHaveProperty('RateLimited');
    expect(stderr.mock.calls.map(([chunk]) => String(chunk)).filter((c) => c.includes('No application metrics'))).toEqual([]);
  });

  it('never throws from flush and clears what it could not write', () => {
    const written: string[] = [];
    let closed = true;
    const metrics = new EmfMetrics((line) => {
      if (closed) throw new Error('stdout closed');
      written.push(line);
    });
    metrics.count('DeadLettered', 'sentry');
    expect(() => metrics.flush()).not.toThrow();
    closed = false;
    metrics.count('RetriesEnqueued', 'sentry');
    metrics.flush();
    expect(written).toHaveLength(1);
    expect(JSON.parse(written[0]!)).not.toHaveProperty('DeadLettered');
  });

  it("writes each of a flush's lines even when another of them could not be written: one set's loss is not the others'", () => {
    const written: string[] = [];
    let calls = 0;
    const metrics = new EmfMetrics((line) => {
      calls += 1;
      if (calls === 1) throw new Error('EAGAIN');
      written.push(line);
    });
    // Two sources: two documents (their `source` values differ), two lines.
    metrics.count('DeadLettered', 'sentry');
    metrics.count('RetriesEnqueued', 'pagerduty');
    expect(() => metrics.flush()).not.toThrow();
    expect(calls).toBe(2);
    expect(written).toHaveLength(1);
    expect(JSON.parse(written[0]!)).toMatchObject({ source: 'pagerduty', RetriesEnqueued: 1 });
  });

  it('stamps the documents of one flush with its time, to the millisecond', () => {
    const written: string[] = [];
    const metrics = new EmfMetrics((line) => void written.push(line), () => 1_764_000_000_123);
    metrics.count('WebhooksReceived', 'github');
    metrics.count('WebhooksReceived', 'sentry');
    metrics.flush();
    expect(written.map((l) => (JSON.parse(l) as Emf)._aws.Timestamp)).toEqual([1_764_000_000_123, 1_764_000_000_123]);
  });

  it('splits a metric of more than 100 values over documents of at most 100, each with the same dimensions (EMF limit)', () => {
    const written: string[] = [];
    const metrics = new EmfMetrics((line) => void written.push(line));
    for (let i = 0; i < 250; i++) metrics.latency('github', i + 0.123);
    metrics.count('CasesCreated', 'github', 3);
    metrics.flush();
    const docs = written.map((l) => JSON.parse(l) as Emf);
    expect(docs).toHaveLength(3);
    expect(docs.map((d) => (Array.isArray(d['DatadogLatency']) ? d['DatadogLatency'].length : 1))).toEqual([100, 100, 50]);
    expect(docs.flatMap((d) => d['DatadogLatency'] as number[])).toEqual(Array.from({ length: 250 }, (_, i) => i + 0.12));
    // The count once, in the first document; every document under {service, source}.
    expect(docs.map((d) => d['CasesCreated'])).toEqual([3, undefined, undefined]);
    for (const doc of docs) {
      expect(doc).toMatchObject({ service: 'case-bridge', source: 'github' });
      expect(doc._aws.CloudWatchMetrics).toHaveLength(1);
      expect(doc._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['service', 'source']]);
    }
  });
});

describe('emfDocuments (the EMF specification\'s limits)', () => {
  const metric = (name: string, values: number[] = [1]) => ({ name, unit: 'Count' as const, values });

  it('puts at most 100 metrics in a directive', () => {
    const metrics = Array.from({ length: 230 }, (_, i) => metric(`M${i}`));
    const docs = emfDocuments('CaseBridge', { source: 'github' }, metrics, 0);
    expect(docs.map((d) => d._aws.CloudWatchMetrics[0]!.Metrics.length)).toEqual([100, 100, 30]);
    expect(docs.every((d) => d._aws.CloudWatchMetrics[0]!.Metrics.length <= EMF_LIMITS.metricsPerDirective)).toBe(true);
    expect(docs[2]).toMatchObject({ source: 'github', M229: 1 });
    expect(docs[2]).not.toHaveProperty('M0');
  });

  it('takes 30 dimensions a set (service and 29) and refuses more', () => {
    const dims = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`d${i}`, 'v']));
    expect(emfDocuments('CaseBridge', dims(29), [metric('M')], 0)[0]!._aws.CloudWatchMetrics[0]!.Dimensions[0]).toHaveLength(30);
    expect(() => emfDocuments('CaseBridge', dims(30), [metric('M')], 0)).toThrow(RangeError);
  });

  it('leaves out a dimension whose value is empty, and writes one value as a number and several as an array', () => {
    const [doc] = emfDocuments('CaseBridge', { source: 'github', reason: '' }, [metric('One', [2]), metric('Two', [1, 2])], 7);
    expect(doc).toEqual({
      _aws: { Timestamp: 7, CloudWatchMetrics: [{ Namespace: 'CaseBridge', Dimensions: [['service', 'source']], Metrics: [{ Name: 'One', Unit: 'Count' }, { Name: 'Two', Unit: 'Count' }] }] },
      service: 'case-bridge',
      source: 'github',
      One: 2,
      Two: [1, 2],
    });
  });
});

describe('MemoryMetrics and noopMetrics', () => {
  it('MemoryMetrics sums by name and dimensions', () => {
    const m = new MemoryMetrics();
    m.count('CasesCreated', 'github');
    m.count('CasesCreated', 'github', 2);
    m.rejected('unknown', 'unknown_source');
    m.latency('github', 5);
    m.flush();
    expect(m.get('CasesCreated', { source: 'github' })).toBe(3);
    expect(m.get('WebhooksRejected', { source: 'unknown', reason: 'unknown_source' })).toBe(1);
    expect(m.get('WebhooksRejected', { reason: 'unknown_source', source: 'unknown' })).toBe(1);
    expect(m.get('CasesCreated', { source: 'sentry' })).toBe(0);
    expect(m.latencies.get('github')).toEqual([5]);
    expect(m.flushes).toBe(1);
  });

  it('noopMetrics accepts everything', () => {
    expect(() => {
      noopMetrics.count('WebhooksReceived', 'github');
      noopMetrics.rejected('github', 'invalid_signature');
      noopMetrics.latency('github', 1);
      noopMetrics.flush();
    }).not.toThrow();
  });
});
