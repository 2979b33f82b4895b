import { MemoryLedger } from '../../lambda/ledger/memory-ledger.js';
import { ledgerContract } from './contract.js';

ledgerContract('MemoryLedger', () => new MemoryLedger());
