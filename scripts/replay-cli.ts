import { parseArgs } from 'node:util';
import { parseReplayRequest, REPLAY_EVENT_KEY, ReplayRequestError, type ReplayItem, type ReplayReport, type ReplayRequest } from '../lambda/ingest/replay.js';
import { parseSince } from './deliveries-view.js';

// `npm run replay`: the parts that tests drive (arguments, targets, the printed report); scripts/replay.ts runs them.

export const USAGE = `usage: npm run replay -- <delivery-id>... [--apply] [target]
       npm run replay -- --source S --since 2h [--until T] [--failed] [--apply] [target]

Runs archived deliveries again through the CURRENT rules, each as a new delivery linked to the original
(replayOf). Without --apply it only shows what each would do (the rules and the lifecycle's decision
against the current ledger) and changes nothing. The dedup ledger applies: an alert that has its case
gets no second one. Only deliveries that verified at first receipt are replayed (their bytes come from
the archive, which only the bridge writes).

  <delivery-id>  the bridge's delivery id (the answer's "delivery", the console, npm run deliveries)
  --source S     deliveries of one source
  --since T      received at or after T: a duration back from now (30m, 2h, 7d) or an ISO 8601 time
  --until T      received before T (same forms; default now)
  --failed       only failed deliveries (dead_lettered, rejected, error)
  --apply        run them (otherwise a preview)

  target: the local bridge (npm start, also with npm run state) at --url (default http://127.0.0.1:$PORT,
  3000), or a deployed stack with --stack NAME [--region R]: its ingest function (output
  IngestFunctionName) is invoked with a replay event (AWS credentials with lambda:InvokeFunction on it).`;

export interface ReplayCommand {
  readonly request: ReplayRequest;
  readonly target: { readonly kind: 'local'; readonly url: string } | { readonly kind: 'stack'; readonly stack: string; readonly region: string | undefined };
  readonly json: boolean;
}

/** `2h` back from `now`, or an ISO 8601 time (ms): as npm run deliveries reads --since. */
export function parseTime(text: string, now: number, flag: string): number {
  try {
    return parseSince(text, now);
  } catch (error) {
    throw new ReplayRequestError(`${flag} ${JSON.stringify(text)} is neither a duration (30m, 2h, 7d) nor an ISO 8601 time`, { cause: error });
  }
}

export function parseReplayCommand(argv: readonly string[], env: NodeJS.ProcessEnv, now: number): ReplayCommand | 'help' {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      source: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      failed: { type: 'boolean', default: false },
      apply: { type: 'boolean', default: false },
      url: { type: 'string' },
      stack: { type: 'string' },
      region: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  if (values.url !== undefined && values.stack !== undefined) throw new ReplayRequestError('--url (the local bridge) or --stack (a deployed one), not both');
  const request = parseReplayRequest({
    ...(positionals.length > 0 ? { ids: positionals } : {}),
    ...(values.source !== undefined ? { source: values.source } : {}),
    ...(values.since !== undefined ? { since: parseTime(values.since, now, '--since') } : {}),
    ...(values.until !== undefined ? { until: parseTime(values.until, now, '--until') } : {}),
    ...(values.failed ? { failed: true } : {}),
    apply: values.apply,
  });
  const target: ReplayCommand['target'] =
    values.stack !== undefined ? { kind: 'stack', stack: values.stack, region: values.region } : { kind: 'local', url: (values.url ?? `http://127.0.0.1:${env['PORT'] || '3000'}`).replace(/\/+$/, '') };
  return { request, target, json: values.json };
}

/** Where a replay request runs. */
export interface ReplayTarget {
  replay(request: ReplayRequest): Promise<ReplayReport>;
}

function asReport(json: unknown, where: string): ReplayReport {
  if (typeof json === 'object' && json !== null && Array.isArray((json as { items?: unknown }).items) && typeof (json as { apply?: unknown }).apply === 'boolean') return json as ReplayReport;
  throw new Error(`${where} did not answer with a replay report: ${JSON.stringify(json).slice(0, 300)}`);
}

/** The local bridge: POST /local/replay (the route the console's replay button posts to). */
export function localTarget(url: string, fetchImpl: typeof fetch = fetch): ReplayTarget {
  return {
    async replay(request) {
      const res = await fetchImpl(`${url}/local/replay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = text;
      }
      if (!res.ok) throw new Error(`${url}/local/replay answered ${res.status}: ${typeof json === 'object' && json !== null && 'message' in json ? String((json as { message: unknown }).message) : text.slice(0, 300)}`);
      return asReport(json, `${url}/local/replay`);
    },
  };
}

/** What the deployed target needs from AWS (the SDK in scripts/replay.ts; stubs in tests). */
export interface StackAccess {
  /** The stack's outputs by name. */
  outputs(stack: string): Promise<Readonly<Record<string, string>>>;
  /** Invokes a function synchronously; `functionError` set when it threw. */
  invoke(functionName: string, payload: string): Promise<{ readonly payload: string; readonly functionError?: string | undefined }>;
}

/** The output naming the deployed ingest function. */
export const INGEST_FUNCTION_OUTPUT = 'IngestFunctionName';

/**
 * A deployed stack: its ingest function (found by the stack's outputs) invoked with the replay event
 * `{ "caseBridgeReplay": <request> }`. The function reads the journal and the archive and runs the
 * deliveries with its own rules, ledger and Datadog keys: nothing of them leaves AWS.
 */
export function stackTarget(stack: string, aws: StackAccess): ReplayTarget {
  return {
    async replay(request) {
      const outputs = await aws.outputs(stack);
      const fn = outputs[INGEST_FUNCTION_OUTPUT];
      if (fn === undefined) throw new Error(`stack ${stack} has no output ${INGEST_FUNCTION_OUTPUT} (deployed before replay existed? deploy again)`);
      if (!request.apply) return invokeReplay(aws, fn, request);
      // Runs fit the function's timeout in batches: a selection is resolved by a preview first, then run by id.
      const selected = request.ids === undefined ? (await invokeReplay(aws, fn, { ...request, apply: false })).items : undefined;
      const ids = request.ids ?? (selected ?? []).filter((i) => i.result === 'preview').map((i) => i.original);
      const items: ReplayItem[] = (selected ?? []).filter((i) => i.result !== 'preview');
      for (let i = 0; i < ids.length; i += APPLY_BATCH) items.push(...(await invokeReplay(aws, fn, { ids: ids.slice(i, i + APPLY_BATCH), apply: true })).items);
      return { apply: true, items };
    },
  };
}

/** Deliveries one invocation runs (each may wait on Datadog; the function's timeout is short). */
export const APPLY_BATCH = 5;

async function invokeReplay(aws: StackAccess, fn: string, request: ReplayRequest): Promise<ReplayReport> {
  const out = await aws.invoke(fn, JSON.stringify({ [REPLAY_EVENT_KEY]: request }));
  let json: unknown;
  try {
    json = JSON.parse(out.payload);
  } catch {
    json = out.payload;
  }
  if (out.functionError !== undefined) {
    const message = typeof json === 'object' && json !== null && 'errorMessage' in json ? String((json as { errorMessage: unknown }).errorMessage) : out.payload.slice(0, 300);
    throw new Error(`${fn} failed (${out.functionError}): ${message}`);
  }
  return asReport(json, fn);
}

function eventLine(e: NonNullable<ReplayItem['events']>[number]): string {
  const rule = e.rule !== undefined ? `rule ${e.rule}` : `no rule (${e.noRule ?? ''})`;
  const actions = e.actions.length > 0 ? e.actions.join(' + ') : 'nothing';
  return `    ${e.type} ${e.identity} (${e.signal}): ${rule}; ${e.decision} -> ${actions}${e.caseKey !== undefined ? ` [${e.caseKey}]` : ''}`;
}

/** The report for people: one block per delivery. */
export function formatReport(report: ReplayReport): string {
  const lines: string[] = [];
  for (const item of report.items) {
    const when = item.receivedAt !== undefined ? ` ${new Date(item.receivedAt).toISOString()}` : '';
    const head = `${item.original} ${item.source}${when} (was ${item.originalStatus ?? '?'})`;
    switch (item.result) {
      case 'skipped':
        lines.push(`${head}: skipped, ${item.why ?? ''}`);
        break;
      case 'failed':
        lines.push(`${head}: FAILED, ${item.why ?? ''} (nothing was marked done; run it again)`);
        break;
      case 'preview':
        lines.push(`${head}: would run`);
        break;
      case 'replayed':
        lines.push(`${head}: replayed as ${item.replay ?? '?'} -> ${item.status ?? '?'}`);
        break;
    }
    for (const e of item.events ?? []) lines.push(eventLine(e));
  }
  const counts = (result: ReplayItem['result']) => report.items.filter((i) => i.result === result).length;
  lines.push(
    report.apply
      ? `${counts('replayed')} replayed, ${counts('failed')} failed, ${counts('skipped')} skipped`
      : `${counts('preview')} would run, ${counts('skipped')} skipped; nothing changed (add --apply to run them)`,
  );
  return `${lines.join('\n')}\n`;
}
