import { afterEach, describe, expect, it, vi } from 'vitest';
import { apiGatewayEvent, payloadOfSize, SIZES } from '../../bench/payloads.js';
import { benchHandler, CONTEXT } from '../../bench/subject.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the bench handler (npm run bench: per-webhook CPU)', () => {
  it('formats its log lines and EMF documents as deployed but writes none of them to stdout, so the bench prints only its tables', async () => {
    const size = SIZES[0]!;
    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const answer = await benchHandler()(apiGatewayEvent(Buffer.from(payloadOfSize(size.bytes, size.shape), 'utf8')), CONTEXT);
    vi.restoreAllMocks();
    expect(answer.statusCode).toBe(201);
    expect(written.filter((line) => line.includes('"_aws"') || line.includes('"level"'))).toEqual([]);
  });
});
