import { describe, expect, it } from 'vitest';
import { PayloadError } from '../../lambda/shared/errors.js';
import { isZodError, z } from '../../lambda/shared/zod.js';
import { opsgenie } from '../../lambda/sources/opsgenie.js';
import { NOW, bindSource, json, raw, signedHeaders, thrown } from './helpers.js';

const TOKEN = 'og-token-current';
const PREVIOUS = 'og-token-previous';
// updatedAt is a nanosecond integer above 2^53, as Opsgenie sends it.
const body = '{"action":"Close","alert":{"alertId":"a1b2c3","alias":"disk-full","createdAt":1746524400123,"updatedAt":1746526200456007890},"integrationName":"Webhook"}';

describe('opsgenie verify', () => {
  const source = bindSource('opsgenie');
  it.each([
    [`Bearer ${TOKEN}`, true],
    [`Bearer ${TOKEN} `, false],
    [`bearer ${TOKEN}`, false],
    [`Bearer ${PREVIOUS}`, false],
    [TOKEN, false],
    ['', false],
  ])('compares Authorization %j exactly with "Bearer " + token -> %s', (authorization, valid) => {
    expect(source.verify(raw(body), { authorization }, [TOKEN], NOW)).toBe(valid);
  });

  it('rejects a request without the header', () => {
    expect(source.verify(raw(body), { 'content-type': 'application/json' }, [TOKEN], NOW)).toBe(false);
  });

  it('accepts the previous token during rotation and only then', () => {
    const headers = signedHeaders('opsgenie', PREVIOUS, body);
    expect(source.verify(raw(body), headers, [TOKEN, PREVIOUS], NOW)).toBe(true);
    expect(source.verify(raw(body), headers, [TOKEN], NOW)).toBe(false);
  });

  it('reads a custom header with a custom prefix', () => {
    const settings = { header: 'X-Bridge-Token', prefix: '' };
    const headers = signedHeaders('opsgenie', TOKEN, body, { settings });
    expect(headers).toMatchObject({ 'x-bridge-token': TOKEN });
    expect(headers['authorization']).toBeUndefined();
    expect(bindSource('opsgenie', settings).verify(raw(body), headers, [TOKEN], NOW)).toBe(true);
    expect(bindSource('opsgenie', settings).verify(raw(body), { authorization: `Bearer ${TOKEN}` }, [TOKEN], NOW)).toBe(false);
  });
});

describe('opsgenie parse', () => {
  const source = bindSource('opsgenie');
  it.each([
    ['Create', 'firing'],
    ['Close', 'resolved'],
    ['Delete', 'resolved'],
    ['Acknowledge', 'informational'],
    ['UnAcknowledge', 'informational'],
    ['AddNote', 'informational'],
    ['Escalate', 'informational'],
    ['close', 'informational'],
  ])('reads action %s as %s', (action, signal) => {
    const [e] = source.parse({ action, alert: { alertId: 'a1b2c3' } }, {});
    expect(e).toMatchObject({ source: 'opsgenie', type: action, identity: 'a1b2c3', signal, deliveryId: undefined, ping: false, link: undefined });
  });

  it('reads an AddNote as a note whose id is the same for the same body and differs for another note (#17)', () => {
    const addNote = (note: string, updatedAt: number) => source.parse({ action: 'AddNote', alert: { alertId: 'a1b2c3', updatedAt, username: 'ana@example.com', note } }, {})[0]?.note;
    const first = addNote('Flushed the cache.', 1746524800000000001);
    expect(first).toEqual({ id: expect.stringMatching(/^opsgenie-note-[0-9a-f]{24}$/), text: 'Flushed the cache.', author: 'ana@example.com', link: undefined });
    expect(addNote('Flushed the cache.', 1746524800000000001)?.id).toBe(first?.id);
    expect(addNote('Flushed the cache.', 1746527000000000001)?.id).not.toBe(first?.id);
    expect(addNote('Watching.', 1746524800000000001)?.id).not.toBe(first?.id);
    expect(addNote('', 1746524800000000001)).toBeUndefined();
    expect(source.parse({ action: 'Acknowledge', alert: { alertId: 'a1b2c3', note: 'ack note' } }, {})[0]?.note).toBeUndefined();
  });

  it('keys on alertId and leaves the rounded ns timestamps alone', () => {
    const parsed = json(body);
    const [e] = source.parse(parsed, {});
    expect(e?.identity).toBe('a1b2c3');
    expect(e?.identity).not.toContain('1746526200456');
    // JSON.parse already rounded the ns integer: it is not the sent value, so nothing may key on it.
    expect(String((parsed['alert'] as Record<string, unknown>)['updatedAt'])).not.toBe('1746526200456007890');
  });

  it.each([
    ['no alert', { action: 'Create' }],
    ['no alertId', { action: 'Create', alert: { alias: 'x' } }],
    ['an empty alertId', { action: 'Create', alert: { alertId: '' } }],
    ['no action', { alert: { alertId: 'a' } }],
  ])('throws PayloadError with the zod cause for %s', (_name, bad) => {
    const error = thrown(() => source.parse(bad as never, {}));
    expect(error).toBeInstanceOf(PayloadError);
    expect(isZodError((error as PayloadError).cause)).toBe(true);
  });
});

describe('opsgenie settings', () => {
  it('fills the defaults', () => {
    expect(z.parse(opsgenie.settingsSchema(), {})).toEqual({ secret: 'OPSGENIE_BEARER_TOKEN', header: 'Authorization', prefix: 'Bearer ' });
  });
});
