import { describe, expect, it } from 'vitest';
import { ReplayRequestError, type ReplayReport } from '../../lambda/ingest/replay.js';
import { formatReport, INGEST_FUNCTION_OUTPUT, parseReplayCommand, stackTarget, type StackAccess } from '../../scripts/replay-cli.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');

describe('npm run replay: arguments', () => {
  it('takes delivery ids, a preview by default, against the local bridge on $PORT', () => {
    expect(parseReplayCommand(['d0001', 'd0002'], { PORT: '3100' }, NOW)).toEqual({ request: { ids: ['d0001', 'd0002'], apply: false }, target: { kind: 'local', url: 'http://127.0.0.1:3100' }, json: false });
  });

  it('takes a selection: --source, --since as a duration back from now, --until as a time, --failed, --apply', () => {
    const command = parseReplayCommand(['--source', 'alertmanager', '--since', '2h', '--until', '2026-03-01T11:30:00Z', '--failed', '--apply'], {}, NOW);
    expect(command).toMatchObject({ request: { source: 'alertmanager', since: NOW - 7_200_000, until: Date.parse('2026-03-01T11:30:00Z'), failed: true, apply: true } });
  });

  it('names a deployed stack with --stack', () => {
    expect(parseReplayCommand(['--since', '1d', '--stack', 'CaseBridge', '--region', 'eu-west-1'], {}, NOW)).toMatchObject({ target: { kind: 'stack', stack: 'CaseBridge', region: 'eu-west-1' } });
  });

  it.each([
    [[], 'name delivery ids, or a time range'],
    [['d1', '--since', '2h'], 'not both'],
    [['--since', 'yesterday'], 'neither a duration'],
    [['d1', '--url', 'http://127.0.0.1:3000', '--stack', 'S'], '--url (the local bridge) or --stack'],
  ])('refuses %j', (argv, message) => {
    expect(() => parseReplayCommand(argv, {}, NOW)).toThrow(ReplayRequestError);
    expect(() => parseReplayCommand(argv, {}, NOW)).toThrow(message);
  });
});

describe('npm run replay --stack: the deployed ingest function, found by the stack outputs (stubbed AWS)', () => {
  const report: ReplayReport = { apply: false, items: [{ original: 'd1', source: 'github', result: 'preview', events: [{ type: 'issues.opened', identity: 'o/r#1', signal: 'firing', rule: 'issues', decision: 'new_alert', actions: ['create'] }] }] };

  function stub(answer: { payload: string; functionError?: string }, outputs: Record<string, string> = { [INGEST_FUNCTION_OUTPUT]: 'CaseBridge-Ingest-abc' }) {
    const calls: { functionName: string; payload: unknown }[] = [];
    const aws: StackAccess = {
      outputs: async () => outputs,
      invoke: async (functionName, payload) => {
        calls.push({ functionName, payload: JSON.parse(payload) });
        return answer;
      },
    };
    return { aws, calls };
  }

  it('invokes the function named by IngestFunctionName with the replay event and returns its report', async () => {
    const { aws, calls } = stub({ payload: JSON.stringify(report) });

    const got = await stackTarget('CaseBridge', aws).replay({ ids: ['d1'], apply: false });

    expect(got).toEqual(report);
    expect(calls).toEqual([{ functionName: 'CaseBridge-Ingest-abc', payload: { caseBridgeReplay: { ids: ['d1'], apply: false } } }]);
  });

  it('with --apply resolves a selection by a preview, then runs it by id in batches that fit the function\'s timeout', async () => {
    const ids = Array.from({ length: 7 }, (_, i) => `d${i}`);
    const calls: { ids?: string[]; since?: number; apply: boolean }[] = [];
    const aws: StackAccess = {
      outputs: async () => ({ [INGEST_FUNCTION_OUTPUT]: 'fn' }),
      invoke: async (_fn, payload) => {
        const request = (JSON.parse(payload) as { caseBridgeReplay: { ids?: string[]; since?: number; apply: boolean } }).caseBridgeReplay;
        calls.push(request);
        const items = request.apply
          ? (request.ids ?? []).map((id) => ({ original: id, source: 'github', result: 'replayed', status: 'created' }))
          : [...ids.map((id) => ({ original: id, source: 'github', result: 'preview' })), { original: 'dx', source: 'github', result: 'skipped', why: 'it was not verified' }];
        return { payload: JSON.stringify({ apply: request.apply, items }) };
      },
    };

    const got = await stackTarget('CaseBridge', aws).replay({ source: 'github', since: 1, apply: true });

    expect(calls).toEqual([{ source: 'github', since: 1, apply: false }, { ids: ids.slice(0, 5), apply: true }, { ids: ids.slice(5), apply: true }]);
    expect(got.items.map((i) => `${i.original} ${i.result}`)).toEqual(['dx skipped', ...ids.map((id) => `${id} replayed`)]);
  });

  it('says so when the stack has no such output, and when the function failed', async () => {
    await expect(stackTarget('Old', stub({ payload: '{}' }, {}).aws).replay({ ids: ['d1'], apply: false })).rejects.toThrow(`stack Old has no output ${INGEST_FUNCTION_OUTPUT}`);
    await expect(stackTarget('CaseBridge', stub({ payload: JSON.stringify({ errorMessage: 'AccessDenied on the archive' }), functionError: 'Unhandled' }).aws).replay({ ids: ['d1'], apply: true })).rejects.toThrow('failed (Unhandled): AccessDenied on the archive');
  });

  it('prints each delivery with what its events would do, and that nothing changed', () => {
    expect(formatReport(report)).toBe('d1 github (was ?): would run\n    issues.opened o/r#1 (firing): rule issues; new_alert -> create\n1 would run, 0 skipped; nothing changed (add --apply to run them)\n');
  });
});
