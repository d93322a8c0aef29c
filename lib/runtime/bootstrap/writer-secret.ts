/**
 * The writer login's secret in Secrets Manager, and the Data API set-up of `setUpLedgerWriter` from the
 * bootstrap stack's two URLs. Loaded only when the bootstrap stack has a ledger (the SDK is not small).
 */
import { randomUUID } from 'node:crypto';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { parseRdsDataUrl, RdsDataDriver } from '../ledger/rds-data';
import {
  LedgerWriterError,
  type LedgerWriterSetUp,
  type WriterCredentials,
  type WriterSecret,
} from './ledger-writer';

/** `{username, password}` JSON, the form the RDS Data API reads. */
export class SecretsManagerWriterSecret implements WriterSecret {
  constructor(
    public readonly arn: string,
    private readonly client: SecretsManagerClient,
  ) {}

  async read(): Promise<WriterCredentials | undefined> {
    // A secret made without a value has no version staged AWSCURRENT (GetSecretValue would answer
    // ResourceNotFoundException, as for a missing secret).
    const described = await this.client.send(new DescribeSecretCommand({ SecretId: this.arn }));
    const staged = Object.values(described.VersionIdsToStages ?? {}).some((stages) =>
      stages.includes('AWSCURRENT'),
    );
    if (!staged) return undefined;
    const value = await this.client.send(new GetSecretValueCommand({ SecretId: this.arn }));
    let parsed: unknown;
    try {
      parsed = JSON.parse(value.SecretString ?? '');
    } catch {
      parsed = undefined;
    }
    const { username, password } = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<
      string,
      unknown
    >;
    if (typeof username !== 'string' || typeof password !== 'string' || password === '') {
      // Never the value itself: it may be a password in another form.
      throw new Error(
        `its current value is not {"username": "...", "password": "..."} JSON (the form the Data API reads)`,
      );
    }
    return { username, password };
  }

  async write(credentials: WriterCredentials): Promise<void> {
    await this.client.send(
      new PutSecretValueCommand({
        SecretId: this.arn,
        SecretString: JSON.stringify({ username: credentials.username, password: credentials.password }),
        ClientRequestToken: randomUUID(),
      }),
    );
  }
}

/**
 * The set-up through the RDS Data API: as the owner with `ownerUrl` (`ledger_url`), as the writer with
 * `writerUrl` (`ledger_writer_url`), whose secret is the writer secret. `close()` releases the clients.
 */
export function dataApiWriterSetUp(
  ownerUrl: string,
  writerUrl: string,
  options: Pick<LedgerWriterSetUp, 'rotate' | 'login'> = {},
): LedgerWriterSetUp & { close(): Promise<void> } {
  const owner = parseRdsDataUrl(ownerUrl);
  const writer = parseRdsDataUrl(writerUrl);
  if (owner.resourceArn !== writer.resourceArn || owner.database !== writer.database) {
    throw new LedgerWriterError(
      `ledger_writer_url names ${writer.resourceArn} database ${writer.database}, ledger_url ${owner.resourceArn} database ${owner.database}: both must name the same ledger`,
    );
  }
  const master = new RdsDataDriver(owner);
  const client = new SecretsManagerClient({ region: writer.region });
  return {
    master,
    secret: new SecretsManagerWriterSecret(writer.secretArn, client),
    openWriter: () => new RdsDataDriver(writer),
    ...options,
    close: async () => {
      client.destroy();
      await master.close();
    },
  };
}
