/** Measurement: per-call time = batch time / batch size; p50 over batches. */
import { performance } from 'node:perf_hooks';
import { BATCH_MS } from './options.js';

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

export interface Timing {
  /** Process CPU time (user + system) per call, p50 over batches: robust to other processes on the machine. */
  readonly p50Us: number;
  readonly meanUs: number;
  /** Wall time per call, p50 over batches (inflated when the machine is busy). */
  readonly wallP50Us: number;
  readonly calls: number;
  readonly batches: number;
}

export type Work = () => unknown;

interface Batch {
  readonly cpuUs: number;
  readonly wallUs: number;
}

async function runBatch(work: Work, n: number, isAsync: boolean): Promise<Batch> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  if (isAsync) for (let i = 0; i < n; i++) await work();
  else for (let i = 0; i < n; i++) work();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { cpuUs: (c.user + c.system) / n, wallUs: (wall * 1000) / n };
}

async function batchSize(work: Work, isAsync: boolean): Promise<number> {
  const perCall = (await runBatch(work, 20, isAsync)).wallUs;
  return Math.max(1, Math.round((BATCH_MS * 1000) / Math.max(perCall, 0.01)));
}

function timing(batches: readonly Batch[], n: number): Timing {
  const cpu = batches.map((b) => b.cpuUs);
  return { p50Us: median(cpu), meanUs: mean(cpu), wallP50Us: median(batches.map((b) => b.wallUs)), calls: batches.length * n, batches: batches.length };
}

/**
 * Measures the works in alternating batches for `ms` milliseconds each, so that all see the same
 * machine state (frequency, neighbours, GC pressure).
 */
export async function measureInterleaved(works: readonly { work: Work; async: boolean }[], ms: number): Promise<Timing[]> {
  const sizes: number[] = [];
  for (const w of works) sizes.push(await batchSize(w.work, w.async));
  const batches: Batch[][] = works.map(() => []);
  const end = performance.now() + ms * works.length;
  while (performance.now() < end || batches[0]!.length < 5) {
    for (let i = 0; i < works.length; i++) batches[i]!.push(await runBatch(works[i]!.work, sizes[i]!, works[i]!.async));
  }
  return batches.map((b, i) => timing(b, sizes[i]!));
}

export async function measureOne(work: Work, ms: number, isAsync = false): Promise<Timing> {
  const n = await batchSize(work, isAsync);
  const t: Batch[] = [];
  const end = performance.now() + ms;
  while (performance.now() < end || t.length < 5) t.push(await runBatch(work, n, isAsync));
  return timing(t, n);
}
