import { referenceConfig } from '../../environments';
import {
  AWS_STACKS,
  REFERENCE_STACKS,
  readStack,
  scrubForSnapshot,
  synthApp,
  withEnvironment,
} from '../util';
import * as fs from 'node:fs';
import * as path from 'node:path';

describe('reference app', () => {
  const outdir = synthApp();

  test('synthesizes exactly the seven reference stacks', () => {
    expect(fs.readdirSync(path.join(outdir, 'stacks')).sort()).toEqual([...REFERENCE_STACKS].sort());
  });

  test.each(AWS_STACKS)('%s pins its provider to the environment account and tags everything', (stackId) => {
    const env = referenceConfig.environments.find((e) => stackId.startsWith(`${e.name}-`))!;
    const [provider] = readStack(outdir, stackId).provider!.aws;
    expect(provider.allowed_account_ids).toEqual([env.accountId]);
    expect(provider.region).toBe(env.region);
    expect(provider.default_tags).toEqual([
      {
        tags: {
          environment: env.name,
          'managed-by': 'gantry',
          repository: 'acme/platform',
          'gantry:stack': stackId,
        },
      },
    ]);
  });

  test.each(REFERENCE_STACKS)('%s keeps local state under .gantry/state by default', (stackId) => {
    expect(readStack(outdir, stackId).terraform!.backend).toEqual({
      local: { path: `../../../.gantry/state/${stackId}.tfstate` },
    });
  });

  test.each(REFERENCE_STACKS)('%s matches its snapshot', (stackId) => {
    expect(scrubForSnapshot(readStack(outdir, stackId))).toMatchSnapshot();
  });
});

describe('S3 backend', () => {
  test('is used with a key per stack, encryption and use_lockfile when the environment names a bucket', () => {
    const config = withEnvironment('staging', (env) => ({
      ...env,
      stateBackend: { bucket: 'acme-staging-tfstate', keyPrefix: 'platform/' },
    }));
    const outdir = synthApp(config);
    for (const stackId of ['staging-foundation', 'staging-services']) {
      expect(readStack(outdir, stackId).terraform!.backend).toEqual({
        s3: {
          bucket: 'acme-staging-tfstate',
          key: `platform/${stackId}.tfstate`,
          region: 'eu-west-1',
          encrypt: true,
          use_lockfile: true,
        },
      });
    }
    expect(readStack(outdir, 'dev-foundation').terraform!.backend).toHaveProperty('local');
  });

  test('is used for the github stack when the organisation names one', () => {
    const config = {
      ...referenceConfig,
      organization: {
        ...referenceConfig.organization,
        githubStateBackend: { bucket: 'acme-github-tfstate', region: 'eu-central-1' },
      },
    };
    expect(readStack(synthApp(config), 'github').terraform!.backend).toEqual({
      s3: {
        bucket: 'acme-github-tfstate',
        key: 'gantry/github.tfstate',
        region: 'eu-central-1',
        encrypt: true,
        use_lockfile: true,
      },
    });
  });
});
