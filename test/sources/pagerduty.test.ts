import { describe, expect, it } from 'vitest';
import { hmacSha256 } from '../../lambda/sources/crypto.js';
import type { JsonObject } from '../../lambda/sources/types.js';
import { PayloadError } from '../../lambda/shared/errors.js';
import { isZodError } from '../../lambda/shared/zod.js';
import { NOW, bindSource, json, raw, signedHeaders, thrown } from './helpers.js';

const SECRET = 'pd-current-secret';
const PREVIOUS = 'pd-previous-secret';
const source = bindSource('pagerduty');
const body = JSON.stringify({
  event: {
    id: '01EVT',
    event_type: 'incident.triggered',
    resource_type: 'incident',
    occurred_at: '2025-01-01T00:00:00Z',
    data: { id: 'PINC1', type: 'incident', html_url: 'https://acme.pagerduty.com/incidents/PINC1' },
  },
});
const sig = (secret: string, b = body) => hmacSha256(secret, b).toString('hex');

describe('pagerduty verify', () => {
  it('accepts the signature made by signRequest', () => {
    expect(source.verify(raw(body), signedHeaders('pagerduty', SECRET, body), [SECRET], NOW)).toBe(true);
  });

  it.each([
    ['a single v1 entry', () => `v1=${sig(SECRET)}`, true],
    ['the matching entry second (PagerDuty-side rotation)', () => `v1=${sig('old')},v1=${sig(SECRET)}`, true],
    ['the matching entry first', () => `v1=${sig(SECRET)},v1=${sig('old')}`, true],
    ['spaces around entries', () => ` v1=${sig('old')} , v1=${sig(SECRET)} `, true],
    ['only non-matching entries', () => `v1=${sig('old')},v1=${sig('older')}`, false],
    ['a v2 entry with the right digest', () => `v2=${sig(SECRET)}`, false],
    ['a bare digest without v1=', () => sig(SECRET), false],
    ['an empty v1 entry', () => 'v1=', false],
    ['a digest of another body', () => `v1=${sig(SECRET, `${body} `)}`, false],
    ['garbage', () => 'v1=not-hex,,,', false],
  ])('with %s answers %s', (_name, header, valid) => {
    expect(source.verify(raw(body), { 'x-pagerduty-signature': header() }, [SECRET], NOW)).toBe(valid);
  });

  it('rejects a request without the header', () => {
    expect(source.verify(raw(body), { 'x-webhook-id': 'w1' }, [SECRET], NOW)).toBe(false);
  });

  it('accepts a signature made with the previous secret during our rotation', () => {
    const headers = signedHeaders('pagerduty', PREVIOUS, body);
    expect(source.verify(raw(body), headers, [SECRET, PREVIOUS], NOW)).toBe(true);
    expect(source.verify(raw(body), headers, [SECRET], NOW)).toBe(false);
  });
});

function event(eventType: string, data: JsonObject, resourceType = 'incident'): JsonObject {
  return { event: { id: '01EVT9', event_type: eventType, resource_type: resourceType, occurred_at: '2025-01-01T00:00:00Z', agent: null, client: null, data } };
}
const incident: JsonObject = { id: 'PINC1', type: 'incident', html_url: 'https://acme.pagerduty.com/incidents/PINC1' };
const note: JsonObject = { id: 'PNOTE', type: 'incident_note', content: 'x', incident: { id: 'PINC1', type: 'incident_reference', html_url: 'https://acme.pagerduty.com/incidents/PINC1' } };

describe('pagerduty parse', () => {
  it.each([
    ['incident.triggered', incident, 'firing'],
    ['incident.reopened', incident, 'firing'],
    ['incident.resolved', incident, 'resolved'],
    ['incident.acknowledged', incident, 'informational'],
    ['incident.unacknowledged', incident, 'informational'],
    ['incident.escalated', incident, 'informational'],
    ['incident.annotated', note, 'informational'],
  ])('reads %s as the incident with signal %s', (eventType, data, signal) => {
    const [e] = source.parse(event(eventType, data), { 'x-webhook-id': 'wh-1' });
    expect(e).toMatchObject({ source: 'pagerduty', type: eventType, identity: 'PINC1', signal, ping: false, deliveryId: 'wh-1' });
    expect(e?.link).toBe('https://acme.pagerduty.com/incidents/PINC1');
  });

  it('reads a note (incident.annotated) as its id, text, author and the incident page; other events carry none (#17)', () => {
    const annotated = event('incident.annotated', note);
    (annotated['event'] as JsonObject)['agent'] = { id: 'PUSR1', type: 'user_reference', summary: 'Ana Diaz' };
    expect(source.parse(annotated, {})[0]?.note).toEqual({ id: 'PNOTE', text: 'x', author: 'Ana Diaz', link: 'https://acme.pagerduty.com/incidents/PINC1' });
    // Without an agent (a note added through the API by an integration) there is no author.
    expect(source.parse(event('incident.annotated', note), {})[0]?.note).toEqual({ id: 'PNOTE', text: 'x', author: undefined, link: 'https://acme.pagerduty.com/incidents/PINC1' });
    expect(source.parse(event('incident.annotated', { ...note, content: '' }), {})[0]?.note).toBeUndefined();
    expect(source.parse(event('incident.acknowledged', incident), {})[0]?.note).toBeUndefined();
  });

  it('reads pagey.ping as a ping', () => {
    const [e] = source.parse(event('pagey.ping', { message: 'Hello', type: 'ping' }, 'pagey'), {});
    expect(e).toMatchObject({ type: 'pagey.ping', ping: true, signal: 'informational', identity: 'pagey/01EVT9', deliveryId: undefined });
  });

  it('keys non-incident resources by resource type and id', () => {
    const [e] = source.parse(event('service.updated', { id: 'PSVC', type: 'service', html_url: 'https://acme.pagerduty.com/services/PSVC' }, 'service'), {});
    expect(e).toMatchObject({ identity: 'service/PSVC', signal: 'informational', link: 'https://acme.pagerduty.com/services/PSVC' });
  });

  it('parses the raw body it verified', () => {
    expect(source.parse(json(body), {})[0]?.identity).toBe('PINC1');
  });

  it.each([
    ['no event', {}],
    ['no event_type', { event: { id: 'x', resource_type: 'incident', occurred_at: 't', data: {} } }],
    ['data not an object', { event: { id: 'x', event_type: 'incident.triggered', resource_type: 'incident', occurred_at: 't', data: 'PINC1' } }],
  ])('throws PayloadError with the zod cause for %s', (_name, bad) => {
    const error = thrown(() => source.parse(bad as never, {}));
    expect(error).toBeInstanceOf(PayloadError);
    expect(isZodError((error as PayloadError).cause)).toBe(true);
  });
});
