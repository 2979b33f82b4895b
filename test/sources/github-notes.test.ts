import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bindSource, json } from './helpers.js';

// Issue 17: a new comment on a GitHub issue is a human's note on the case.
const source = bindSource('github');
const body = readFileSync(new URL('../fixtures/github/issue_comment.created.json', import.meta.url), 'utf8');
const headers = { 'x-github-event': 'issue_comment', 'x-github-delivery': 'd-1' };

describe('github issue comments (#17)', () => {
  it('a created comment is a note on the issue (its id, text, author and own link), informational', () => {
    const [e] = source.parse(json(body), headers);
    expect(e).toMatchObject({ type: 'issue_comment.created', identity: 'repo/7012345:issue/42', signal: 'informational' });
    expect(e?.note).toEqual({ id: '2716604410', text: 'Payment provider EU endpoint is slow; failing over to the secondary.', author: 'lee-sre', link: 'https://github.com/acme/widgets/issues/42#issuecomment-2716604410' });
  });

  it.each(['edited', 'deleted'])('an %s comment is no note, and stays informational', (action) => {
    const [e] = source.parse({ ...json(body), action }, headers);
    expect(e?.note).toBeUndefined();
    expect(e?.signal).toBe('informational');
  });

  it('a comment with an empty body is no note', () => {
    const parsed = json(body);
    const [e] = source.parse({ ...parsed, comment: { ...(parsed['comment'] as object), body: '' } }, headers);
    expect(e?.note).toBeUndefined();
  });
});
