/**
 * The shared tooling account in the configuration: what it accepts, each conflicting setting rejected
 * with the field, the value and what is allowed, and the one place the shared S3 backend is computed.
 */
import {
  resolveStateBackend,
  sharedStateRoles,
  toolingStateBackend,
  type BootstrapConfig,
  type GantryConfig,
  type ToolingAccountConfig,
} from '../../../lib/config';
import { GantryConfigError } from '../../../lib/core/errors';
import { TOOLING, toolingConfig } from '../../fixtures/tooling-config';
import { problemsOf } from '../../util';

const withTooling = (tooling: unknown): GantryConfig => ({
  ...toolingConfig,
  tooling: tooling as ToolingAccountConfig,
});
const sharing = (name: string, bootstrap: unknown, base: GantryConfig = toolingConfig): GantryConfig => ({
  ...base,
  environments: base.environments.map((e) =>
    e.name === name ? { ...e, bootstrap: bootstrap as BootstrapConfig } : e,
  ),
});

describe('tooling configuration', () => {
  test('accepts a tooling account shared by dev and staging, prod with a bucket of its own', () => {
    expect(problemsOf(toolingConfig)).toEqual([]);
  });

  test('rejects shared without a tooling account, naming both ways out', () => {
    const { tooling: _none, ...config } = toolingConfig;
    expect(problemsOf(config)).toEqual([
      'dev.bootstrap.shared: true, but the configuration has no tooling account: add tooling: { name, accountId, region } or give the environment its own bucket (bootstrap: {})',
      'staging.bootstrap.shared: true, but the configuration has no tooling account: add tooling: { name, accountId, region } or give the environment its own bucket (bootstrap: {})',
    ]);
  });

  test.each([
    [
      { shared: true, stateBucket: { noncurrentVersionExpiryDays: 30 } },
      'dev.bootstrap.stateBucket: {"noncurrentVersionExpiryDays":30} conflicts with shared: true',
    ],
    [{ shared: true, ledger: {} }, 'dev.bootstrap.ledger: {} conflicts with shared: true'],
    [{ shared: 'yes' }, 'dev.bootstrap.shared: "yes" must be true or absent'],
  ])('rejects the conflicting bootstrap %j', (bootstrap, message) => {
    expect(problemsOf(sharing('dev', bootstrap)).join('\n')).toContain(message);
  });

  test('rejects a stateBackend beside shared: the backend is computed', () => {
    const config: GantryConfig = {
      ...toolingConfig,
      environments: toolingConfig.environments.map((e) =>
        e.name === 'dev' ? { ...e, stateBackend: { bucket: 'typed-by-hand' } } : e,
      ),
    };
    expect(problemsOf(config)).toEqual([
      'dev.bootstrap: stateBackend "typed-by-hand" conflicts with shared: true (the backend is the tooling account\'s bucket, computed); remove stateBackend',
    ]);
  });

  test('rejects a tooling name that is an environment name, listing the environments', () => {
    expect(problemsOf(withTooling({ ...TOOLING, name: 'prod' }))).toEqual([
      'tooling.name: "prod" is also an environment\'s name; the stack prod-bootstrap would be both\'s: names allowed are any but "dev", "staging", "prod"',
    ]);
  });

  test.each([
    [{ ...TOOLING, name: 'Tooling' }, 'tooling.name: "Tooling" must match'],
    [{ ...TOOLING, accountId: '4444' }, 'tooling.accountId: "4444" is not a 12-digit AWS account id'],
    [{ ...TOOLING, region: 'mars-1' }, 'tooling.region: "mars-1" is not an AWS region'],
    [
      { ...TOOLING, bootstrap: { shared: true } },
      "tooling.bootstrap.shared: true: the tooling account's bucket is the shared one; remove shared",
    ],
    [
      { ...TOOLING, bootstrap: { stateBucket: { noncurrentVersionsKept: 0 } } },
      'tooling.bootstrap.stateBucket.noncurrentVersionsKept: 0 must be a whole number from 1 to 100',
    ],
    [
      { ...TOOLING, bootstrap: { ledger: {} } },
      'tooling.network: undefined, but tooling.bootstrap.ledger needs the VPC and private subnets of the tooling account',
    ],
    [{ ...TOOLING, network: { vpcId: 'vpc-1', privateSubnetIds: [] } }, 'tooling.network.vpcId'],
    ['tooling', 'tooling: "tooling" is not a tooling account ({ name, accountId, region, bootstrap? })'],
  ])('rejects the tooling account %j', (tooling, message) => {
    expect(problemsOf(withTooling(tooling)).join('\n')).toContain(message);
  });

  test('the shared backend: the tooling bucket in the tooling region, gantry/<stack>.tfstate, the key by its alias ARN', () => {
    const dev = toolingConfig.environments[0];
    expect(resolveStateBackend('acme', dev, TOOLING)).toEqual({
      bucket: 'acme-tooling-tfstate-444444444444',
      region: 'eu-central-1',
      keyPrefix: 'gantry/',
      kmsKeyId: 'arn:aws:kms:eu-central-1:444444444444:alias/acme-tooling-tfstate',
    });
    expect(resolveStateBackend('acme', dev, TOOLING)).toEqual(toolingStateBackend('acme', TOOLING));
    expect(() => resolveStateBackend('acme', dev)).toThrow(GantryConfigError);
    // prod keeps its own bucket.
    expect(resolveStateBackend('acme', toolingConfig.environments[2], TOOLING)?.bucket).toBe(
      'acme-prod-tfstate-333333333333',
    );
  });

  test("the roles that need a sharing environment's state, from the naming helpers", () => {
    const [dev, staging] = toolingConfig.environments;
    const backend = toolingStateBackend('acme', TOOLING);
    expect(sharedStateRoles('acme', dev, backend)).toEqual({
      environment: 'dev',
      accountId: '111111111111',
      stateKeys: ['gantry/dev-foundation.tfstate', 'gantry/dev-services.tfstate'],
      readers: [
        'arn:aws:iam::111111111111:role/acme-dev-gh-plan',
        'arn:aws:iam::111111111111:role/acme-dev-gh-plan-pr',
        'arn:aws:iam::111111111111:role/acme-dev-gh-apply',
        'arn:aws:iam::111111111111:role/acme-dev-deploy-build',
      ],
      lockers: [
        'arn:aws:iam::111111111111:role/acme-dev-gh-plan',
        'arn:aws:iam::111111111111:role/acme-dev-gh-apply',
        'arn:aws:iam::111111111111:role/acme-dev-deploy-build',
      ],
      writers: [
        'arn:aws:iam::111111111111:role/acme-dev-gh-apply',
        'arn:aws:iam::111111111111:role/acme-dev-deploy-build',
      ],
    });
    // Staging needs an approval and plans no pull requests: no pull-request plan role.
    expect(sharedStateRoles('acme', staging, backend).readers).not.toContain(
      'arn:aws:iam::222222222222:role/acme-staging-gh-plan-pr',
    );
  });
});
