import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_SECRETS_FILE, startLocalBridge, type LocalBridge } from '../../lambda/local/bridge.js';
import { datedSample, listSamples, readSample } from '../../lambda/local/samples.js';
import { sendSample } from '../../lambda/local/send-sample.js';
import { PRESET_RULES_FILE } from '../../lambda/mapping/load-rules-file.js';
import { parseEnv } from '../../lambda/shared/env.js';
import { silentLogger } from '../../lambda/shared/log.js';
import { existsSync, readFileSync } from 'node:fs';
import { SOURCE_NAMES, SOURCES } from '../../lambda/sources/index.js';
import type { JsonObject } from '../../lambda/sources/types.js';

// The README quickstart: `npm start` with the embedded defaults, then `npm run send -- <source> <event>`.
// `send` signs with the settings of the rules in use, so every sample works with the presets. A source
// without a shared secret (cloudwatch: AWS signs SNS messages) cannot be signed by `send`.
const SIGNED = SOURCE_NAMES.filter((source) => SOURCES[source].defaultSecretKey !== undefined);
const SAMPLES = SIGNED.flatMap((source) => listSamples(source).map((event) => [source, event] as const));

describe('npm run send against npm start (development secrets, presets, dry run)', () => {
  let bridge: LocalBridge;
  beforeAll(async () => {
    bridge = await startLocalBridge({ env: parseEnv({ PORT: '0' }), logger: silentLogger });
  });
  afterAll(async () => {
    await bridge.close();
  });

  it('has a development secret for every source of the registry, under its default key', () => {
    const dev = JSON.parse(readFileSync(DEV_SECRETS_FILE, 'utf8')) as Record<string, string>;
    expect(SIGNED.filter((source) => dev[SOURCES[source].defaultSecretKey ?? ''] === undefined)).toEqual([]);
    expect(new Set(SAMPLES.map(([source]) => source))).toEqual(new Set(SIGNED));
    expect(SOURCE_NAMES.filter((source) => !SIGNED.includes(source))).toEqual(['cloudwatch']);
  });

  it('has samples for the quickstart', () => {
    expect(SAMPLES.map(([s, e]) => `${s} ${e}`)).toContain('github issues.opened');
  });

  it.each(SAMPLES)('%s %s is accepted (202) and never refused', async (source, event) => {
    const result = await sendSample({ source, event, baseUrl: bridge.url, rulesFile: PRESET_RULES_FILE, secretsFile: DEV_SECRETS_FILE });

    expect(result.status).toBe(202);
    expect(['dry_run', 'no_match', 'ping', 'ignored']).toContain((JSON.parse(result.text) as { status: string }).status);
  });

  it('answers the quickstart sample with the case request it would send', async () => {
    const result = await sendSample({ source: 'github', event: 'issues.opened', baseUrl: bridge.url, rulesFile: PRESET_RULES_FILE, secretsFile: DEV_SECRETS_FILE });

    expect(JSON.parse(result.text)).toMatchObject({ status: 'dry_run', request: { data: { type: 'case', attributes: { title: expect.stringContaining('[GitHub]') } } } });
  });
});

describe('a bundled sample is dated now, as its sender dates a new event (#13)', () => {
  const NOW = Date.parse('2026-12-04T23:00:00.000Z');

  it.each(SAMPLES)('%s %s: every event the sender dates carries the time it is sent', (source, event) => {
    const sample = readSample(source, event);
    const settingsFile = new URL(`../fixtures/${source}/settings.json`, import.meta.url);
    const bound = SOURCES[source].bind(existsSync(settingsFile) ? (JSON.parse(readFileSync(settingsFile, 'utf8')) as object) : {});
    // A sample the parser refuses (a ping, an unknown resource) has no events either way.
    const parse = (dated: { body: string; headers: Record<string, string> }) => {
      try {
        return bound.parse(JSON.parse(dated.body) as JsonObject, dated.headers);
      } catch {
        return [];
      }
    };
    const before = parse(sample);
    const after = parse(datedSample(source, sample, NOW));

    expect(after.map((e) => e.identity)).toEqual(before.map((e) => e.identity));
    expect(after.map((e) => (e.occurredAt === undefined ? 'none' : e.occurredAt))).toEqual(before.map((e) => (e.occurredAt === undefined ? 'none' : NOW)));
  });

  it('so the README walkthrough reopens: firing, resolved, then firing again are in order', () => {
    const times = ['firing', 'resolved', 'firing'].map((event, i) => SOURCES.alertmanager.bind({}).parse(JSON.parse(datedSample('alertmanager', readSample('alertmanager', event), NOW + i * 1000).body) as JsonObject, {})[0]?.occurredAt);
    expect(times).toEqual([NOW, NOW + 1000, NOW + 2000]);
  });
});
