import { describe, expect, it } from 'vitest';
import { lambdaLedgerClient } from '../../lambda/ledger/lambda-ledger.js';

describe('the Lambda entries\' DynamoDB client (#15, cold start)', () => {
  it('is made once and shared by every caller (the ledger and the rate budget): one client and one connection pool per container', async () => {
    const [a, b] = await Promise.all([lambdaLedgerClient(), lambdaLedgerClient()]);
    expect(a).toBe(b);
    expect(await lambdaLedgerClient()).toBe(a);
    a.destroy();
  });
});
