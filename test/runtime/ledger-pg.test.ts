import { PgDriver } from '../../lib/runtime/ledger/pg';
import { createDatabase, testServer } from '../pg-cluster';
import { describeDeploymentsContract } from './deployments-contract';
import { describeLedgerContract } from './ledger-contract';
import { describeLedgerSecurity } from './ledger-security-contract';

// A real server: GANTRY_TEST_PG_URL (from .ci/run) or a cluster started for this file. The 32
// contenders each have their own connection.
let server: { url: string; release: () => void };

beforeAll(async () => {
  server = await testServer();
});

afterAll(() => server?.release());

describeLedgerContract('a PostgreSQL server', () => createDatabase(server.url), true);

// The writer is a real login (trust auth) of its own, connected to the same database.
const pgBackend = () => ({
  async newDatabase() {
    const url = await createDatabase(server.url);
    const owner = new PgDriver(url);
    const others: PgDriver[] = [];
    return {
      owner,
      as: async (role: string) => {
        const login = new URL(url);
        login.username = role;
        const driver = new PgDriver(login.toString(), { maxConnections: 8 });
        others.push(driver);
        return driver;
      },
      close: async () => {
        await Promise.all([owner, ...others].map((d) => d.close()));
      },
    };
  },
});

describeLedgerSecurity('a PostgreSQL server', pgBackend);
describeDeploymentsContract('a PostgreSQL server', pgBackend);
