/**
 * The state migration fails closed: when the S3 backend cannot be read (here: its endpoint refuses
 * connections), nothing is migrated, the local state file is kept and the override is gone. Real
 * Terraform, no provider needed. The migration itself, and the refusal over an existing remote state,
 * run against the emulator (test/emulator/reference-stacks.test.ts, dev, day zero).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { migrateState, MIGRATION_OVERRIDE_FILE } from '../../lib/runtime/bootstrap';
import { describeWithTerraform } from '../terraform-harness';
import { tempDir } from './helpers';

const LOCAL_STATE = {
  version: 4,
  terraform_version: '1.11.4',
  serial: 3,
  lineage: '0a1d0000-0000-4000-8000-000000000001',
  outputs: {},
  resources: [
    {
      mode: 'managed',
      type: 'terraform_data',
      name: 'x',
      provider: 'provider["terraform.io/builtin/terraform"]',
      instances: [{ schema_version: 0, attributes: { id: 'x' } }],
    },
  ],
};

describeWithTerraform('migrateState', () => {
  test('refuses when the remote cannot be read, keeping the local state', async () => {
    const root = tempDir('migrate');
    const dir = path.join(root, 'stack');
    fs.mkdirSync(dir);
    fs.writeFileSync(
      path.join(dir, 'cdk.tf.json'),
      JSON.stringify({
        terraform: {
          backend: {
            s3: {
              bucket: 'acme-dev-tfstate-111111111111',
              key: 'gantry/dev-foundation.tfstate',
              region: 'eu-west-1',
              use_lockfile: true,
              endpoints: { s3: 'http://127.0.0.1:1', sts: 'http://127.0.0.1:1' },
              use_path_style: true,
              access_key: 'offline',
              secret_key: 'offline',
              skip_credentials_validation: true,
              skip_requesting_account_id: true,
              skip_metadata_api_check: true,
              max_retries: 1,
            },
          },
        },
      }),
    );
    const local = path.join(root, 'dev-foundation.tfstate');
    fs.writeFileSync(local, JSON.stringify(LOCAL_STATE));
    const lines: string[] = [];
    const outcome = await migrateState(
      {
        stack: 'dev-foundation',
        dir,
        localStateFile: local,
        remote: 's3://acme-dev-tfstate-111111111111/gantry/dev-foundation.tfstate',
      },
      { env: { PATH: process.env.PATH, HOME: process.env.HOME }, write: (l) => lines.push(l) },
    );
    expect(outcome).toEqual({
      status: 'refused',
      reason: expect.stringMatching(
        /^could not read s3:\/\/acme-dev-tfstate-111111111111\/gantry\/dev-foundation\.tfstate to check that it holds no state \(terraform init exited 1: .*connection refused.*\); nothing was migrated$/,
      ),
    });
    expect(JSON.parse(fs.readFileSync(local, 'utf8'))).toEqual(LOCAL_STATE);
    expect(fs.existsSync(path.join(dir, MIGRATION_OVERRIDE_FILE))).toBe(false);
  });
});
