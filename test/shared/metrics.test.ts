import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { METRICS } from '../../lambda/shared/contract.js';
import {
  MemoryMetrics,
  noopMetrics,
  PowertoolsMetrics,
} from '../../lambda/shared/metrics.js';

interface Emf {
  _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  [key: string]: unknown;
}

/** The EMF documents Powertools writes (its own Console on process.stdout) while `fn` runs. */
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

describe('PowertoolsMetrics (EMF)', () => {
  it('writes each dimension set as its own directive, with the namespace, the service dimension and the values, in one document (#15)', () => {
    const metrics = new PowertoolsMetrics();
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
    const metrics = new PowertoolsMetrics();
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
    const metrics = new PowertoolsMetrics();
    // Powertools warns on its own Console (stderr) when it publishes nothing.
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
    const powertools = new Metrics({ namespace: 'CaseBridge', serviceName: 'case-bridge' });
    vi.spyOn(powertools, 'serializeMetrics').mockImplementationOnce(() => {
      throw new Error('stdout closed');
    });
    const metrics = new PowertoolsMetrics(powertools);
    metrics.count('DeadLettered', 'sentry');
    expect(() => captureEmf(() => metrics.flush())).not.toThrow();
    expect(powertools.hasStoredMetrics()).toBe(false);
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
