import { describe, expect, it } from 'vitest';
import { PayloadError } from '../../lambda/shared/errors.js';
import { isZodError } from '../../lambda/shared/zod.js';
import { hmacSha256 } from '../../lambda/sources/crypto.js';
import { NOW, bindSource, json, raw, signedHeaders, thrown } from './helpers.js';

const SECRET = 'sentry-client-secret';
const PREVIOUS = 'sentry-client-secret-old';
const source = bindSource('sentry');
const body = '{"action":"created","data":{"issue":{"id":"123","title":"Err"}},"installation":{"uuid":"u"}}';

describe('sentry verify', () => {
  const digest = hmacSha256(SECRET, body).toString('hex');
  it('accepts the bare hex digest in Sentry-Hook-Signature', () => {
    const headers = signedHeaders('sentry', SECRET, body);
    expect(headers['sentry-hook-signature']).toBe(digest);
    expect(source.verify(raw(body), headers, [SECRET], NOW)).toBe(true);
  });

  it.each([
    ['a sha256= prefix', `sha256=${digest}`],
    ['a digest of the re-serialised body', hmacSha256(SECRET, JSON.stringify(JSON.parse(body), null, 2)).toString('hex')],
    ['an empty value', ''],
    ['a non-hex value of the right length', 'z'.repeat(64)],
  ])('rejects %s', (_name, value) => {
    expect(source.verify(raw(body), { 'sentry-hook-signature': value }, [SECRET], NOW)).toBe(false);
  });

  it('accepts the previous secret during rotation and only then', () => {
    const headers = signedHeaders('sentry', PREVIOUS, body);
    expect(source.verify(raw(body), headers, [SECRET, PREVIOUS], NOW)).toBe(true);
    expect(source.verify(raw(body), headers, [SECRET], NOW)).toBe(false);
  });
});

const issue = { data: { issue: { id: '42', shortId: 'WEB-1', title: 'Err' } } };
const eventAlert = { data: { event: { event_id: 'e1', issue_id: '42', web_url: 'https://acme.sentry.io/issues/42/events/e1/' }, triggered_rule: 'r' } };
const metric = { data: { metric_alert: { id: '77', identifier: '3', status: 20 }, web_url: 'https://acme.sentry.io/alerts/3/', description_title: 'Critical: x' } };
const installation = { data: { installation: { uuid: 'inst-1', status: 'installed' } } };

describe('sentry parse', () => {
  it.each([
    ['issue', 'created', issue, 'issue/42', 'firing', undefined],
    ['issue', 'resolved', issue, 'issue/42', 'resolved', undefined],
    ['issue', 'ignored', issue, 'issue/42', 'informational', undefined],
    ['issue', 'archived', issue, 'issue/42', 'informational', undefined],
    ['issue', 'assigned', issue, 'issue/42', 'informational', undefined],
    ['event_alert', 'triggered', eventAlert, 'issue/42', 'firing', 'https://acme.sentry.io/issues/42/events/e1/'],
    ['metric_alert', 'critical', metric, 'metric_alert/77', 'firing', 'https://acme.sentry.io/alerts/3/'],
    ['metric_alert', 'warning', metric, 'metric_alert/77', 'firing', 'https://acme.sentry.io/alerts/3/'],
    ['metric_alert', 'resolved', metric, 'metric_alert/77', 'resolved', 'https://acme.sentry.io/alerts/3/'],
    ['installation', 'created', installation, 'installation/req-9', 'informational', undefined],
    // A comment is about its issue (#17): its note goes to the issue's case.
    ['comment', 'created', { data: { comment: 'hi', issue_id: 42 } }, 'issue/42', 'informational', undefined],
  ])('reads %s.%s as %s (%s)', (resource, action, payload, identity, signal, link) => {
    const headers = { 'sentry-hook-resource': resource, 'request-id': 'req-9' };
    const [e] = source.parse({ action, ...payload } as never, headers);
    expect(e).toMatchObject({ source: 'sentry', type: `${resource}.${action}`, identity, signal, deliveryId: 'req-9', ping: false });
    expect(e?.link).toBe(link);
  });

  it('reads a new comment on an issue as a note (id, text, author), and an edited or deleted one as none (#17)', () => {
    const headers = { 'sentry-hook-resource': 'comment', 'request-id': 'req-9' };
    const comment = (action: string) => ({ action, data: { comment: 'Deployed the fix.', comment_id: 1234, issue_id: 100, project_slug: 'shop', timestamp: '2026-03-02T21:51:44.118160Z' }, actor: { type: 'user', id: 1, name: 'Ana' } });
    expect(source.parse(comment('created'), headers)[0]?.note).toEqual({ id: '1234', text: 'Deployed the fix.', author: 'Ana', link: undefined });
    expect(source.parse(comment('created'), headers)[0]?.identity).toBe('issue/100');
    expect(source.parse(comment('updated'), headers)[0]?.note).toBeUndefined();
    expect(source.parse(comment('deleted'), headers)[0]?.note).toBeUndefined();
    expect(() => source.parse({ action: 'created', data: { comment: 'x' } }, headers)).toThrow(PayloadError);
  });

  it('accepts numeric ids', () => {
    const [e] = source.parse(json('{"action":"critical","data":{"metric_alert":{"id":77}}}'), { 'sentry-hook-resource': 'metric_alert' });
    expect(e?.identity).toBe('metric_alert/77');
  });

  it('throws PayloadError without Sentry-Hook-Resource', () => {
    expect(() => source.parse(json(body), { 'request-id': 'r' })).toThrow(PayloadError);
  });

  it.each([
    ['issue', { action: 'created', data: { issue: { title: 'no id' } } }],
    ['event_alert', { action: 'triggered', data: { event: { event_id: 'e1' } } }],
    ['metric_alert', { action: 'critical', data: {} }],
    ['issue', { data: { issue: { id: '1' } } }],
    ['installation', { action: 'created' }],
  ])('throws PayloadError with the zod cause for a %s body missing its ids', (resource, bad) => {
    const error = thrown(() => source.parse(bad as never, { 'sentry-hook-resource': resource }));
    expect(error).toBeInstanceOf(PayloadError);
    expect(isZodError((error as PayloadError).cause)).toBe(true);
  });
});
