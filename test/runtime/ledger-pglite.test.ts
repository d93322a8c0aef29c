import { openLedger } from '../../lib/runtime/ledger';
import { tempDir } from './helpers';
import { describeLedgerContract } from './ledger-contract';

// PGlite is one connection: the 32 contenders are concurrent async callers in this process.
describeLedgerContract(
  'PGlite',
  async () => 'pglite:memory',
  false,
  async () => `pglite:${tempDir('ledger')}`,
);

test('an unknown ledger URL is rejected with the allowed forms, and no password is echoed', async () => {
  const error = (await openLedger('mysql://root:hunter22@db/x').catch((e: unknown) => e)) as Error;
  expect(error.message).toMatch(/is not a ledger URL; use pglite:<dir>, postgres:\/\/.*rds-data:\/\//);
  expect(error.message).not.toContain('hunter22');
});
