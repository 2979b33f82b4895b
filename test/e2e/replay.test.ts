import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatadogClient } from '../../lambda/datadog/client.js';
import { MemoryArchive, MemoryJournal } from '../../lambda/journal/memory.js';
import { MemoryLedger } from '../../lambda/ledger/memory-ledger.js';
import { DEV_SECRETS_FILE, startLocalBridge, type LocalBridge } from '../../lambda/local/bridge.js';
import { startLocalCaseManagement, withLocalDatadogKeys } from '../../lambda/local/case-management.js';
import { sendSample } from '../../lambda/local/send-sample.js';
import { parseEnv } from '../../lambda/shared/env.js';
import { silentLogger } from '../../lambda/shared/log.js';
import { createSecretsProvider, fileSecretLoader } from '../../lambda/shared/secrets.js';

// Replay (issue 16, item 3): archived deliveries through the CURRENT rules as new deliveries linked to
// the originals, the dedup ledger still in force; without --apply nothing changes. The bridge is
// restarted with fixed rules on the same ledger, journal, archive and Case Management, as an operator
// restarts npm start (or deploys) after fixing a rule.

function rulesFile(severity: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'replay-rules-')), 'rules.yaml');
  const yaml = [
    'version: 1',
    'defaults: { project: 11111111-1111-1111-1111-111111111111, type_id: 00000000-0000-0000-0000-000000000001 }',
    'sources:',
    '  alertmanager:',
    '    settings: { secret: ALERTMANAGER_BEARER_TOKEN, scheme: bearer }',
    '    rules:',
    '      - name: warnings',
    '        signals: [firing]',
    `        when: "commonLabels.severity = '${severity}'"`,
    '        case: { title: "[Alertmanager] {{ commonLabels.alertname }}", priority: P3 }',
    '  github:',
    '    rules:',
    '      - name: issue opened',
    '        events: [issues.opened]',
    '        case: { title: "[GitHub] {{ issue.title }}", priority: P4 }',
  ].join('\n');
  writeFileSync(file, `${yaml}\n`);
  return file;
}

/** The rule as first written: the sample's severity is `warning`, so it never matches. */
const BROKEN = rulesFile('warn');
const FIXED = rulesFile('warning');

interface Answer {
  status: string;
  delivery: string;
  reason?: string;
}

describe('npm run replay, against the local bridge', { timeout: 60_000 }, () => {
  let caseManagement: Awaited<ReturnType<typeof startLocalCaseManagement>>;
  const ledger = new MemoryLedger();
  const journal = new MemoryJournal();
  const archive = new MemoryArchive();
  let bridge: LocalBridge;

  const start = async (rules: string) => {
    await bridge?.close();
    const secrets = withLocalDatadogKeys(createSecretsProvider({ load: fileSecretLoader(DEV_SECRETS_FILE), origin: DEV_SECRETS_FILE }));
    bridge = await startLocalBridge({ env: parseEnv({ PORT: '0', CASE_BRIDGE_RULES: rules }), logger: silentLogger, ledger, journal, archive, secrets, datadog: createDatadogClient({ baseUrl: caseManagement.url, timeoutMs: 5000 }), pace: false });
  };
  const send = async (source: string, event: string, rules: string): Promise<Answer> => {
    const sent = await sendSample({ source, event, baseUrl: bridge.url, rulesFile: rules, secretsFile: DEV_SECRETS_FILE });
    return JSON.parse(sent.text) as Answer;
  };
  /** Every write the bridge made to Datadog (creates, comments, status changes). */
  const writes = () => caseManagement.requests.filter((r) => r.method !== 'GET').length;
  const replayCli = async (...args: string[]) => promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/replay.ts', '--url', bridge.url, ...args]);

  beforeAll(async () => {
    caseManagement = await startLocalCaseManagement(undefined);
  });
  afterAll(async () => {
    await bridge?.close();
    await caseManagement?.close();
  });

  let original: string;

  it('journals and archives a delivery that no rule took (the rule was broken)', async () => {
    await start(BROKEN);
    const answer = await send('alertmanager', 'firing', BROKEN);

    expect(answer).toMatchObject({ status: 'no_match', delivery: expect.stringMatching(/^d[0-9a-z]{19}$/) as unknown });
    original = answer.delivery;
    expect(await journal.get(original)).toMatchObject({ status: 'no_match', verified: true, archiveKey: expect.any(String) as unknown });
    expect(caseManagement.cases).toHaveLength(0);
  });

  it('without --apply shows what it would do under the fixed rule, and changes nothing', async () => {
    await start(FIXED);
    const records = journal.records.size;

    const { stdout } = await replayCli(original);

    expect(stdout).toContain(`${original} alertmanager`);
    expect(stdout).toContain('(was no_match): would run');
    expect(stdout).toMatch(/rule warnings; new_alert -> create/);
    expect(stdout).toContain('1 would run, 0 skipped; nothing changed (add --apply to run them)');
    expect(caseManagement.cases).toHaveLength(0);
    expect(writes()).toBe(0);
    expect(journal.records.size).toBe(records);
    expect(await ledger.get('alertmanager', (await journal.get(original))?.identities[0] ?? '')).toBeUndefined();
  });

  it('with --apply runs it through the fixed rule as a new delivery linked to the original: its case is created, once', async () => {
    const { stdout } = await replayCli(original, '--apply');

    expect(stdout).toMatch(new RegExp(`${original} alertmanager .*\\(was no_match\\): replayed as (d[0-9a-z]{19}) -> created`));
    expect(caseManagement.cases.map((c) => c.request.data.attributes.title)).toEqual(['[Alertmanager] DiskFillingUp']);
    const replay = /replayed as (d[0-9a-z]{19})/.exec(stdout)?.[1] ?? '';
    expect(replay).not.toBe(original);
    expect(await journal.get(replay)).toMatchObject({ replayOf: original, status: 'created', source: 'alertmanager' });
    expect(await journal.get(original)).toMatchObject({ status: 'no_match' });

    // Replayed again: the ledger knows the alert has its case.
    const again = await bridge.replay({ ids: [original], apply: true });
    expect(again.items).toMatchObject([{ result: 'replayed', status: 'deduplicated' }]);
    expect(caseManagement.cases).toHaveLength(1);
  });

  it('replaying a delivery that was handled already changes nothing in Datadog', async () => {
    const handled = await send('github', 'issues.opened', FIXED);
    expect(handled.status).toBe('created');
    const identity = (await journal.get(handled.delivery))?.identities[0] ?? '';
    const before = { writes: writes(), cases: caseManagement.cases.length, entry: await ledger.get('github', identity) };
    expect(before.entry?.caseKey).toBeDefined();

    const preview = await bridge.replay({ ids: [handled.delivery], apply: false });
    const report = await bridge.replay({ ids: [handled.delivery], apply: true });

    expect(preview.items).toMatchObject([{ result: 'preview', events: [{ decision: 'repeat_coalesced', actions: [] }] }]);
    expect(report.items).toMatchObject([{ result: 'replayed', status: 'deduplicated', answer: { status: 202, body: { reason: 'repeat_coalesced' } } }]);
    // No Datadog write, and the ledger as it was: a replay is no new occurrence of the alert.
    expect({ writes: writes(), cases: caseManagement.cases.length, entry: await ledger.get('github', identity) }).toEqual(before);
    expect(caseManagement.cases.flatMap((c) => c.comments)).toEqual([]);
  });

  it('does not reopen a case closed since: a replayed firing is as old as its first receipt', async () => {
    const resolved = await send('alertmanager', 'resolved', FIXED);
    expect(resolved).toMatchObject({ status: 'updated', reason: 'resolved_closed' });
    const closed = caseManagement.cases.find((c) => c.request.data.attributes.title === '[Alertmanager] DiskFillingUp');
    expect(closed?.statusChanges).toEqual(['CLOSED']);

    const report = await bridge.replay({ ids: [original], apply: true });

    expect(report.items).toMatchObject([{ result: 'replayed', status: 'deduplicated', answer: { body: { reason: 'stale_event' } } }]);
    expect(closed?.statusChanges).toEqual(['CLOSED']);
  });

  it('selects by source and time, and skips what it cannot replay, saying why', async () => {
    const report = await bridge.replay({ source: 'alertmanager', since: Date.now() - 3_600_000, apply: false });
    expect(report.items.map((i) => i.original)).toContain(original);
    expect(report.items.every((i) => i.source === 'alertmanager')).toBe(true);

    const unknown = await bridge.replay({ ids: ['d000000000aaaaaaaaaa'], apply: true });
    expect(unknown.items).toEqual([{ original: 'd000000000aaaaaaaaaa', source: '', result: 'skipped', why: 'no such delivery in the journal (expired, or not this bridge)' }]);
  });
});
