import { createDatabase, testServer } from '../pg-cluster';
import { describeLedgerContract } from './ledger-contract';

// A real server: GANTRY_TEST_PG_URL (from .ci/run) or a cluster started for this file. The 32
// contenders each have their own connection.
let server: { url: string; release: () => void };

beforeAll(async () => {
  server = await testServer();
});

afterAll(() => server?.release());

describeLedgerContract('a PostgreSQL server', () => createDatabase(server.url), true);
