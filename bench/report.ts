/** What the bench prints: the tables, the targets and, with --json, the figures on stdout. */
import { relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { BundleResult } from './bundle.js';
import type { SizeResult, StageResult } from './cpu.js';
import type { LoadResult } from './load.js';
import type { ColdResult } from './cold.js';
import { KIND_NAMES, MIX, mixPrice, price, ROUND_TRIP_MS, type Kind, type MixResult, type Prices } from './cost.js';
import { BASE64, JSON_OUT, ROOT, say, STAGES, STRICT, TARGETS } from './options.js';

const round = (n: number, digits = 1): number => Number(n.toFixed(digits));
export const fmtUs = (us: number): string => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} us`);

interface Check {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly target: number;
  readonly ok: boolean;
}

function check(name: string, value: number, unit: string, target: number): Check {
  return { name, value, unit, target, ok: value <= target };
}

function table(rows: string[][]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  rows.forEach((r, i) => {
    say(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
    if (i === 0) say(widths.map((w) => '-'.repeat(w)).join('  '));
  });
}

/** Per-webhook CPU of the handler against the floor, one row per payload size. */
export function reportCpu(sizes: readonly SizeResult[]): void {
  say(`Per-webhook CPU time (process.cpuUsage per batch, p50 over batches): GitHub issues.opened through the middy handler, body ${BASE64 ? 'base64-encoded (--base64)' : 'as text, as API Gateway hands over application/json'}, wired as deployed (journal, archive, JSON logs and EMF metrics), Datadog, the ledger, DynamoDB and S3 stubbed in process, vs the floor`);
  say('floor = JSON.parse(body) + HMAC-SHA256(bytes) + JSON.stringify(the case body the handler sends); TOOLCHAIN.md\'s floor stringifies a fixed 1 KB case instead (last two columns)');
  table([
    ['payload', 'case body', 'handler p50', 'handler mean', 'floor p50', 'floor mean', 'ratio', 'parse', 'hmac', 'stringify', 'wall p50 h/floor', 'handler calls', '1 KB-case floor', 'ratio to it'],
    ...sizes.map((s) => [
      s.size,
      `${(s.caseBytes / 1024).toFixed(1)} KB`,
      fmtUs(s.handler.p50Us),
      fmtUs(s.handler.meanUs),
      fmtUs(s.floor.p50Us),
      fmtUs(s.floor.meanUs),
      s.ratio.toFixed(2),
      fmtUs(s.floorParts.parseUs),
      fmtUs(s.floorParts.hmacUs),
      fmtUs(s.floorParts.stringifyUs),
      `${fmtUs(s.handler.wallP50Us)} / ${fmtUs(s.floor.wallP50Us)}`,
      String(s.handler.calls),
      fmtUs(s.toolchainFloor.p50Us),
      s.toolchainRatio.toFixed(2),
    ]),
  ]);
  say();
}

/** --stages: each step of the handler path, one column per payload size. */
export function reportStages(stageResults: readonly StageResult[]): void {
  say('Stages of the handler path, each timed alone (p50)');
  const names = stageResults[0]!.stages.map((s) => s.name);
  table([['stage', ...stageResults.map((r) => r.size)], ...names.map((name) => [name, ...stageResults.map((r) => fmtUs(r.stages.find((s) => s.name === name)!.p50Us))])]);
  say();
}

export function reportBundle(bundle: BundleResult): void {
  const lazyKB = bundle.lazy.reduce((a, c) => a + c.bytes, 0) / 1024;
  say(`Bundle: lambda/ingest/index.ts -> ${relative(ROOT, bundle.file)}: ${(bundle.bytes / 1024).toFixed(1)} KB loaded at start (+ ${lazyKB.toFixed(1)} KB in chunks loaded on first need: ${bundle.lazy.map((c) => `${c.name} ${(c.bytes / 1024).toFixed(1)} KB`).join(', ') || 'none'}; ${((bundle.bytes / 1024) + lazyKB).toFixed(1)} KB in all; + ${(bundle.mapBytes / 1024).toFixed(0)} KB source maps), built in ${bundle.buildMs.toFixed(0)} ms`);
  table([['contributor', 'KB', 'share'], ...bundle.contributors.slice(0, 10).map((c) => [c.name, (c.bytes / 1024).toFixed(1), `${((100 * c.bytes) / bundle.bytes).toFixed(0)}%`])]);
  say();
}

export function reportLoad(load: LoadResult): void {
  say(`Module load (median of ${load.runs} fresh processes): node alone ${load.bareNodeMs.toFixed(1)} ms, node + import(bundle) ${load.bundleNodeMs.toFixed(1)} ms, difference ${load.aboveNodeMs.toFixed(1)} ms (import() itself: ${load.importMs.toFixed(1)} ms)`);
  say();
}

const range = (values: readonly number[]): string => `${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)}`;

export function reportCold(cold: ColdResult): void {
  say(`Cold start (${cold.firstMs.length} fresh processes, CPU time user + system): bare node ${range(cold.bareMs)} ms; node + import(ingest bundle) ${range(cold.loadedMs)} ms; + the first webhook (GitHub issues.opened, a first firing: secret read, ledger, watchdog send, Datadog create) ${range(cold.firstMs)} ms`);
  say(`  medians above bare node: import ${cold.loadAboveNodeMs.toFixed(1)} ms, import + first webhook ${cold.aboveNodeMs.toFixed(1)} ms`);
  say();
}

const usd = (n: number): string => `$${n.toFixed(3)}`;

/** The cost mix: what each kind of webhook used, per webhook, and its dollars per million. As Markdown with `markdown`. */
export function costTable(mix: MixResult, prices: Prices): string[][] {
  const kinds = Object.keys(MIX) as Kind[];
  const priced = kinds.map((k) => price(mix.perKind[k], prices));
  const per = (k: Kind, f: (u: MixResult['perKind'][Kind]) => number): number => f(mix.perKind[k]) / mix.perKind[k].webhooks;
  const rows: string[][] = [['per webhook', ...kinds.map((k) => `${KIND_NAMES[k]} (${(MIX[k] * 100).toFixed(0)}%)`)]];
  const add = (label: string, f: (k: Kind, i: number) => string) => rows.push([label, ...kinds.map((k, i) => f(k, i))]);
  add('Lambda invocations (ingest + retry)', (k) => per(k, (u) => u.lambdaRequests).toFixed(2));
  add('billed ms (all invocations)', (k) => per(k, (u) => u.billedMs).toFixed(0));
  add('  of which CPU measured here, ms', (k) => per(k, (u) => u.cpuMs).toFixed(1));
  add('Datadog calls', (k) => per(k, (u) => u.datadogCalls).toFixed(2));
  add('DynamoDB calls', (k) => per(k, (u) => u.dynamoCalls).toFixed(1));
  add('DynamoDB write / read units', (k) => `${per(k, (u) => u.dynamoWriteUnits).toFixed(1)} / ${per(k, (u) => u.dynamoReadUnits).toFixed(1)}`);
  add('SQS requests', (k) => per(k, (u) => u.sqsRequests).toFixed(1));
  add('log bytes: function / platform / access', (k) => `${per(k, (u) => u.functionLogBytes).toFixed(0)} / ${per(k, (u) => u.platformLogBytes).toFixed(0)} / ${per(k, (u) => u.accessLogBytes).toFixed(0)}`);
  const lineNames = priced[0]!.lines.map((l) => l.item);
  for (const name of lineNames) {
    if (priced.every((p) => (p.lines.find((l) => l.item === name)?.usdPerMillion ?? 0) === 0)) continue;
    add(`$ / M: ${name}`, (_k, i) => usd(priced[i]!.lines.find((l) => l.item === name)!.usdPerMillion));
  }
  add('$ / M webhooks of this kind', (_k, i) => usd(priced[i]!.total));
  return rows;
}

export function reportCost(mix: MixResult, prices: Prices): number {
  const total = mixPrice(mix.perKind, prices);
  say(`Cost (the deployed bundles in local containers, the raw archive ${mix.archive === 'all' ? 'keeping every delivery (the default)' : mix.archive === 'failed' ? 'keeping failed deliveries only (-c archive=failed)' : 'off (-c archive=off)'}, every AWS request counted at the wire, priced with bench/prices.json; ${mix.perKind.first.webhooks} Alertmanager webhooks of each kind; assumed round trips: ${Object.entries(ROUND_TRIP_MS).map(([s, ms]) => `${s} ${ms} ms`).join(', ')})`);
  table(costTable(mix, prices));
  const unpriced = Object.entries(mix.perKind).flatMap(([, u]) => Object.entries(u.unpriced));
  if (unpriced.length > 0) say(`NOT PRICED (no entry in bench/prices.json): ${unpriced.map(([c, n]) => `${c} x${n}`).join(', ')}`);
  say(`mix: $${total.toFixed(2)} per million webhooks; besides, Secrets Manager ${mix.secretsCalls} calls (one per container start, then one per 5 minutes) and ${mix.emptyPolls} empty polls of the event source in this run (fixed costs, docs/cost.md)`);
  say();
  return total;
}

/** The targets, a summary line, and with --json the figures on stdout. Returns whether every target was met. */
export function reportTargets(sizes: readonly SizeResult[], stageResults: readonly StageResult[], bundle: BundleResult, load: LoadResult, startedAt: number, cold?: ColdResult, usdPerMillion?: number): boolean {
  const byName = new Map(sizes.map((s) => [s.size, s]));
  const checks: Check[] = [
    check('ratio@2KB', byName.get('2KB')!.ratio, '', TARGETS.ratio2KB),
    check('ratio@20KB', byName.get('20KB')!.ratio, '', TARGETS.ratio20KB),
    check('bundle', bundle.bytes / 1024, 'KB', TARGETS.bundleKB),
    // CPU time of the import above bare node (the cold-start runs) when measured: wall time swings with the machine's load.
    check(cold ? 'module load CPU above node' : 'load above node', cold ? cold.loadAboveNodeMs : load.aboveNodeMs, 'ms', TARGETS.loadAboveNodeMs),
    ...(cold ? [check('cold first webhook CPU above node', cold.aboveNodeMs, 'ms', TARGETS.coldFirstWebhookMs)] : []),
    ...(usdPerMillion !== undefined ? [check('$ per million webhooks', usdPerMillion, 'USD', TARGETS.usdPerMillion)] : []),
  ];
  const ratio200 = byName.get('200KB')!.ratio;
  say('Targets');
  for (const c of checks) {
    const v = c.unit === '' ? c.value.toFixed(2) : `${c.value.toFixed(1)} ${c.unit}`;
    say(`${c.name} ${v} (target <= ${c.target}${c.unit === '' ? '' : ` ${c.unit}`}) ${c.ok ? 'ok' : 'FAIL'}`);
  }
  say(`ratio@200KB ${ratio200.toFixed(2)} (report only)`);
  say(`with TOOLCHAIN.md's 1 KB-case floor: ratio@2KB ${byName.get('2KB')!.toolchainRatio.toFixed(2)}, ratio@20KB ${byName.get('20KB')!.toolchainRatio.toFixed(2)}, ratio@200KB ${byName.get('200KB')!.toolchainRatio.toFixed(2)} (report only)`);
  const failed = checks.filter((c) => !c.ok);
  say(failed.length === 0 ? 'all targets met' : `FAIL: ${failed.map((c) => c.name).join(', ')}${STRICT ? '' : ' (exit 0; pass --strict to fail the run)'}`);
  say(`(${((performance.now() - startedAt) / 1000).toFixed(1)} s)`);

  if (JSON_OUT) {
    const figures = {
      node: process.version,
      sizes: sizes.map((s) => ({
        size: s.size,
        bytes: s.bytes,
        handlerP50Us: round(s.handler.p50Us),
        handlerMeanUs: round(s.handler.meanUs),
        floorP50Us: round(s.floor.p50Us),
        floorMeanUs: round(s.floor.meanUs),
        handlerWallP50Us: round(s.handler.wallP50Us),
        floorWallP50Us: round(s.floor.wallP50Us),
        ratio: round(s.ratio, 2),
        caseBytes: s.caseBytes,
        toolchainFloorP50Us: round(s.toolchainFloor.p50Us),
        toolchainRatio: round(s.toolchainRatio, 2),
        floorParts: { parseUs: round(s.floorParts.parseUs), hmacUs: round(s.floorParts.hmacUs), stringifyUs: round(s.floorParts.stringifyUs) },
        handlerCalls: s.handler.calls,
      })),
      bundle: { kb: round(bundle.bytes / 1024), lazyChunks: bundle.lazy.map((c) => ({ name: c.name, kb: round(c.bytes / 1024) })), mapKb: round(bundle.mapBytes / 1024), top: bundle.contributors.slice(0, 10).map((c) => ({ name: c.name, kb: round(c.bytes / 1024) })) },
      ...(cold ? { cold: { bareMs: cold.bareMs, loadedMs: cold.loadedMs, firstMs: cold.firstMs, aboveNodeMs: round(cold.aboveNodeMs), loadAboveNodeMs: round(cold.loadAboveNodeMs) } } : {}),
      ...(usdPerMillion !== undefined ? { usdPerMillion: round(usdPerMillion, 3) } : {}),
      load: { bareNodeMs: round(load.bareNodeMs), bundleNodeMs: round(load.bundleNodeMs), aboveNodeMs: round(load.aboveNodeMs), importMs: round(load.importMs), runs: load.runs },
      ...(STAGES ? { stages: stageResults.map((r) => ({ size: r.size, stages: r.stages.map((st) => ({ name: st.name.trim(), p50Us: round(st.p50Us) })) })) } : {}),
      targets: checks.map((c) => ({ name: c.name, value: round(c.value, 2), target: c.target, ok: c.ok })),
      ok: failed.length === 0,
    };
    process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
  }
  return failed.length === 0;
}
