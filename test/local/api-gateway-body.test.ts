import { describe, expect, it } from 'vitest';
import { apiGatewayBody } from '../../lambda/local/bridge.js';

// API Gateway (HTTP API, payload 2.0) passes text/*, application/json, application/xml and
// application/javascript bodies as text, and base64-encodes everything else. The local bridge does
// the same, except that bytes which are not valid UTF-8 stay base64 (exactly what was signed).
describe('apiGatewayBody (the local bridge)', () => {
  const json = Buffer.from('{"title":"Überlast 🚨"}', 'utf8');

  it.each([
    ['application/json', true],
    ['application/json; charset=utf-8', true],
    ['Application/JSON', true],
    ['text/plain', true],
    ['application/xml', true],
    ['application/vnd.api+json', false],
    ['application/octet-stream', false],
    ['application/x-www-form-urlencoded', false],
    [undefined, false],
  ])('content type %s: as text %s', (contentType, asText) => {
    const out = apiGatewayBody(contentType, json);
    expect(out.isBase64Encoded).toBe(!asText);
    expect(asText ? Buffer.from(out.body, 'utf8') : Buffer.from(out.body, 'base64')).toEqual(json);
  });

  it('keeps a JSON body that is not valid UTF-8 base64, byte for byte', () => {
    const invalid = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]);
    const out = apiGatewayBody('application/json', invalid);
    expect(out.isBase64Encoded).toBe(true);
    expect(Buffer.from(out.body, 'base64')).toEqual(invalid);
  });
});
