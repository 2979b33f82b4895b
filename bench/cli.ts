/**
 * `npm run bench`: CPU cost of one webhook through the ingest handler against the CPU floor
 * (TOOLCHAIN.md), the Lambda bundle size and its module load time. bench/run.mjs bundles this entry.
 *
 *   npm run bench                 table + one summary line per target; exit 0
 *   npm run bench -- --strict     exit 1 when a target is missed
 *   npm run -s bench -- --json    the figures as JSON on stdout (the table goes to stderr; -s keeps
 *                                 npm's own banner off stdout)
 *   npm run bench -- --quick      shorter measurement windows (smoke run)
 *   npm run bench -- --stages     also time each stage of the handler path on its own
 *   npm run bench -- --write-cost-doc   also rewrite the counted table in docs/cost.md
 *   npm run bench -- --archive=failed   the cost with the raw archive keeping failed deliveries only
 *                                 (or off): the stack's -c archive; with --write-cost-doc, its row of
 *                                 docs/cost.md's archive table only
 *   npm run bench -- --base64     the body base64-encoded (API Gateway's form for binary types)
 *                                 instead of as text (its form for application/json)
 *   node --cpu-prof --import tsx bench/cli.ts --profile [--size=2KB]
 *                                 only the handler loop, for a CPU profile of the handler path
 *
 * Not a test: figures depend on the machine. Bounded in time (about 22 s on 2 cores, 32 s with --stages).
 */
import { performance } from 'node:perf_hooks';
import { buildBundle } from './bundle.js';
import { measureSize, measureStages, type SizeResult, type StageResult } from './cpu.js';
import { measureLoad } from './load.js';
import { ARCHIVE_MODE, COLD_RUNS, COST_WEBHOOKS_PER_KIND, option, PROFILE, QUICK, say, STAGES, STRICT, WRITE_COST_DOC } from './options.js';
import { measureColdStart } from './cold.js';
import { readPrices, runMix } from './cost.js';
import { startCostRig } from './cost-rig.js';
import { ARCHIVE_MODES } from '../lambda/shared/contract.js';
import { writeCostDoc } from './cost-doc.js';
import { apiGatewayEvent, payloadOfSize, SIZES } from './payloads.js';
import { fmtUs, reportBundle, reportCold, reportCost, reportCpu, reportLoad, reportStages, reportTargets } from './report.js';
import { awsSends, benchHandler, benchLedger, CONTEXT, created, sink } from './subject.js';

async function profileOnly(): Promise<void> {
  const handler = benchHandler();
  const wanted = option('size');
  const seconds = Number(option('seconds') ?? 5);
  for (const size of SIZES.filter((s) => wanted === undefined || s.name.toLowerCase() === wanted.toLowerCase())) {
    const event = apiGatewayEvent(Buffer.from(payloadOfSize(size.bytes, size.shape), 'utf8'));
    const end = performance.now() + seconds * 1000;
    let calls = 0;
    while (performance.now() < end) {
      for (let i = 0; i < 100; i++) await handler(event, CONTEXT);
      calls += 100;
    }
    say(`${size.name}: ${calls} calls, ${fmtUs((seconds * 1e6) / calls)} per call (profiler on)`);
  }
}

async function main(): Promise<void> {
  if (PROFILE) return profileOnly();
  const startedAt = performance.now();
  say(`case-bridge bench: node ${process.version}, ${process.platform}/${process.arch}${QUICK ? ' (quick)' : ''}`);
  say();

  // 1 + 2: handler vs floor
  const handler = benchHandler();
  const sizes: SizeResult[] = [];
  for (const size of SIZES) sizes.push(await measureSize(handler, size));
  // Every webhook took the whole first-firing path through the ledger (FirstFiringLedger): its delivery
  // claimed; the alert read once, by the lifecycle (the outbox runner starts from the intent it wrote);
  // two writes (the intent with its outbox and claim, then the case, which empties the outbox: no read after it).
  const calls = benchLedger.calls;
  if (calls.rememberDelivery !== created || calls.get !== created || calls.beginCreate !== created || calls.completeCreate !== created) {
    throw new Error(`the handler no longer takes the first-firing path: ${created} cases created, ledger calls ${JSON.stringify(calls)}`);
  }
  // And each was journaled (one PutItem: the record is new) and archived (one PutObject: its headers fit the metadata), as deployed.
  if (awsSends.journal !== created || awsSends.archive !== created) {
    throw new Error(`the handler no longer journals and archives every webhook: ${created} cases created, ${awsSends.journal} journal and ${awsSends.archive} archive writes`);
  }
  reportCpu(sizes);

  const stageResults: StageResult[] = [];
  if (STAGES) {
    for (const size of SIZES) stageResults.push(await measureStages(size, sizes.find((s) => s.size === size.name)!.handler.p50Us));
    reportStages(stageResults);
  }

  // 3: bundle
  const bundle = await buildBundle();
  reportBundle(bundle);

  // 4: load time
  const load = measureLoad(bundle.file);
  reportLoad(load);

  // 5 + 6: the cold first webhook and the counted cost, on the same local stubs
  const prices = readPrices();
  const archive = ARCHIVE_MODES.find((m) => m === ARCHIVE_MODE);
  if (archive === undefined) throw new Error(`--archive must be one of ${ARCHIVE_MODES.join(', ')} (got ${ARCHIVE_MODE})`);
  const rig = await startCostRig({ archive });
  let cold;
  let usdPerMillion;
  try {
    cold = await measureColdStart(rig, COLD_RUNS);
    reportCold(cold);
    const mix = await runMix(rig, COST_WEBHOOKS_PER_KIND, archive);
    usdPerMillion = reportCost(mix, prices);
    if (WRITE_COST_DOC) say(`docs/cost.md: ${writeCostDoc(mix, prices)}`);
  } finally {
    await rig.close();
  }

  const ok = reportTargets(sizes, stageResults, bundle, load, startedAt, cold, usdPerMillion);
  if (sink === 0.5) say('unreachable');
  if (STRICT && !ok) process.exitCode = 1;
}

await main();
