import { Stack } from 'aws-cdk-lib';
import { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { METRICS } from '../../lambda/shared/contract.js';
import { EmfMetrics, type EmfDocument } from '../../lambda/shared/metrics.js';
import { Monitoring } from '../../lib/monitoring.js';
import { fastApp } from './support.js';

// Issue 15: the EMF documents are written by hand (lambda/shared/metrics.ts). What CloudWatch
// extracts from them must be exactly what the stack's alarms and dashboard read: the same namespace,
// metric names, dimension names and values. A metric read with other dimensions than it is written
// with is an empty graph, and an alarm on it never fires (or, treating missing data as breaching, a
// silence alarm always does).

const SOURCES = ['github', 'pagerduty'] as const;

interface Read {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
}

const key = ({ namespace, name, dimensions }: Read): string =>
  `${namespace}/${name}{${Object.keys(dimensions)
    .sort()
    .map((k) => `${k}=${dimensions[k]}`)
    .join(',')}}`;

/** The metrics CloudWatch extracts from EMF documents (each directive's metrics under each of its dimension sets), with their units. */
function extracted(docs: readonly EmfDocument[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const doc of docs) {
    for (const directive of doc._aws.CloudWatchMetrics) {
      for (const set of directive.Dimensions) {
        const dimensions = Object.fromEntries(set.map((d) => [d, doc[d]]));
        for (const d of set) expect(typeof doc[d], `dimension ${d} is a root string member`).toBe('string');
        for (const m of directive.Metrics) {
          const v = doc[m.Name];
          expect(typeof v === 'number' || (Array.isArray(v) && v.every((x) => typeof x === 'number')), `${m.Name} has numeric values`).toBe(true);
          out.set(key({ namespace: directive.Namespace, name: m.Name, dimensions: dimensions as Record<string, string> }), m.Unit);
        }
      }
    }
  }
  return out;
}

/** What the Lambda functions write: every kind of metric the BridgeMetrics interface records, for each source. */
function written(): Map<string, string> {
  const lines: string[] = [];
  const metrics = new EmfMetrics((line) => lines.push(line), () => 1_700_000_000_000);
  for (const source of SOURCES) {
    for (const name of METRICS.bySource) if (name !== 'DatadogLatency') metrics.count(name, source);
    metrics.latency(source, 12.5);
    metrics.rejected(source, METRICS.invalidSignatureReason);
    for (const name of METRICS.bySourceAndOutcome) metrics.outcome(name, source, 'created');
  }
  metrics.flush();
  return extracted(lines.map((line) => JSON.parse(line) as EmfDocument));
}

function synth() {
  const stack = new Stack(fastApp(), 'Test');
  const fn = (id: string) => new LambdaFunction(stack, id, { runtime: Runtime.NODEJS_24_X, handler: 'index.handler', code: Code.fromInline('exports.handler = 1') });
  new Monitoring(stack, 'Monitoring', {
    api: new HttpApi(stack, 'Api'),
    ingestFunction: fn('Ingest'),
    retryFunction: fn('Retry'),
    retryQueue: new Queue(stack, 'RetryQueue'),
    deadLetterQueue: new Queue(stack, 'Dlq'),
    sources: [...SOURCES],
    silence: [{ source: 'github', minutes: 60 }],
  });
  return Template.fromStack(stack);
}

type CfnMetric = { Namespace: string; MetricName: string; Dimensions?: { Name: string; Value: unknown }[] };

/** The bridge's own metrics (namespace CaseBridge) every alarm reads, alone or in its metric math. */
function alarmReads(template: Template): Read[] {
  const out: Read[] = [];
  const add = (m: CfnMetric) => out.push({ namespace: m.Namespace, name: m.MetricName, dimensions: Object.fromEntries((m.Dimensions ?? []).map((d) => [d.Name, String(d.Value)])) });
  for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
    const p = alarm['Properties'] as CfnMetric & { Metrics?: { MetricStat?: { Metric: CfnMetric } }[] };
    if (p.Namespace !== undefined) add(p);
    for (const m of p.Metrics ?? []) if (m.MetricStat !== undefined) add(m.MetricStat.Metric);
  }
  return out.filter((r) => r.namespace === METRICS.namespace);
}

/** The dashboard's body, its tokens (region, queue names...) replaced by a placeholder. */
function dashboardBody(template: Template): { widgets: { properties: { metrics?: unknown[][] } }[] } {
  const dashboard = Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]!;
  const body = (dashboard['Properties'] as { DashboardBody: unknown }).DashboardBody;
  const text = typeof body === 'string' ? body : (body as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'TOKEN')).join('');
  return JSON.parse(text) as { widgets: { properties: { metrics?: unknown[][] } }[] };
}

describe('the EMF documents and what the alarms and the dashboard read (#15)', () => {
  const template = synth();
  const emf = written();

  it('every bridge metric an alarm reads is written, with the same namespace, name, dimension names and values', () => {
    const reads = alarmReads(template);
    // The invalid-signature alarm (one per source) and the silence alarm at least.
    expect(reads.length).toBeGreaterThanOrEqual(SOURCES.length + 1);
    // ApiThrottled is API Gateway's access log's metric (lib/access-log.ts), not an EMF one.
    expect(reads.filter((r) => r.name !== METRICS.apiThrottled.metricName && !emf.has(key(r))).map(key)).toEqual([]);
  });

  it('every bridge metric the dashboard graphs is written: its named metrics with their dimensions, its SEARCHes with their exact dimension names', () => {
    const body = dashboardBody(template);
    const named: Read[] = [];
    const searches: { name: string; dimensionNames: string[] }[] = [];
    for (const widget of body.widgets) {
      for (const entry of widget.properties.metrics ?? []) {
        const [first] = entry;
        if (first === METRICS.namespace) {
          const [, name, ...rest] = entry;
          const pairs = rest.filter((x): x is string => typeof x === 'string');
          const dimensions: Record<string, string> = {};
          for (let i = 0; i + 1 < pairs.length; i += 2) dimensions[pairs[i]!] = pairs[i + 1]!;
          named.push({ namespace: METRICS.namespace, name: String(name), dimensions });
        } else if (typeof first === 'object' && first !== null && typeof (first as { expression?: unknown }).expression === 'string') {
          for (const m of (first as { expression: string }).expression.matchAll(/SEARCH\('\{([^}]*)\} MetricName="([^"]+)"'/g)) {
            const [namespace, ...dimensionNames] = m[1]!.split(',');
            expect(namespace).toBe(METRICS.namespace);
            searches.push({ name: m[2]!, dimensionNames: dimensionNames.sort() });
          }
        }
      }
    }
    expect(named.length).toBeGreaterThan(0);
    expect(searches.length).toBeGreaterThan(0);
    expect(named.filter((r) => r.name !== METRICS.apiThrottled.metricName && !emf.has(key(r))).map(key)).toEqual([]);
    const writtenSets = [...emf.keys()].map((k) => {
      const m = /^[^/]+\/([^{]+)\{(.*)\}$/.exec(k)!;
      return `${m[1]}{${m[2]!
        .split(',')
        .map((kv) => kv.split('=')[0])
        .sort()
        .join(',')}}`;
    });
    expect(searches.filter((s) => !writtenSets.includes(`${s.name}{${s.dimensionNames.join(',')}}`))).toEqual([]);
  });

  it('writes the Datadog latency in milliseconds and every other metric as a count', () => {
    for (const [k, unit] of emf) expect([k, unit]).toEqual([k, k.includes('/DatadogLatency{') ? 'Milliseconds' : 'Count']);
  });
});
