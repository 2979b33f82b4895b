import { describe, expect, it } from 'vitest';
import { reply } from '../../lambda/ingest/answer.js';
import { answerCode, messageOf } from '../../lambda/ingest/record.js';

describe('answerCode', () => {
  const bodies: Record<string, unknown>[] = [
    { status: 'created', deliveryId: 'd1', case: { id: 'c', key: 'DDFC-1' } },
    { error: 'in_progress', message: 'send it again' },
    { status: 'ping', deliveryId: undefined },
    { status: undefined, error: 'not_configured' },
    { status: 7, error: 'odd' },
    { deliveryId: 'd2', results: [] },
  ];

  it("names an answer reply() made as its JSON body does, without the record's parse changing what it says", () => {
    for (const body of bodies) {
      const answer = reply(202, body);
      // A copy is not one reply() made: its code is read from the JSON, as every answer's was.
      expect(answerCode(answer), JSON.stringify(body)).toBe(answerCode({ ...answer }));
    }
    expect(bodies.map((b) => answerCode(reply(200, b)))).toEqual(['created', 'in_progress', 'ping', 'not_configured', 'odd', 'unknown']);
  });

  it('reads an answer whose body was replaced after reply() from that body', () => {
    const answer = reply(200, { status: 'created' });
    answer.body = JSON.stringify({ error: 'internal_error', message: 'replaced' });
    expect(answerCode(answer)).toBe('internal_error');
    expect(messageOf(answer)).toBe('replaced');
  });
});
