import { readStack, synthApp, withEnvironment } from '../../util';

const ADMIN = 'arn:aws:iam::aws:policy/AdministratorAccess';

interface PolicyMetadata {
  readonly '//': {
    readonly gantry_policy: {
      readonly suppressions: ReadonlyArray<{ ruleId: string; reason: string; path?: string }>;
    };
  };
}

describe('AdministratorAccess passed explicitly', () => {
  test('is accepted on the deploy project role, recorded as a GANTRY-IAM-007 suppression with its reason', () => {
    const outdir = synthApp(withEnvironment('dev', (env) => ({ ...env, applyPolicyArns: [ADMIN] })));
    const stack = readStack(outdir, 'dev-foundation') as unknown as PolicyMetadata;
    const suppressions = stack['//'].gantry_policy.suppressions;
    expect(suppressions).toHaveLength(1);
    expect(suppressions[0].ruleId).toBe('GANTRY-IAM-007');
    expect(suppressions[0].reason).toMatch(
      /^AdministratorAccess passed explicitly in dev-foundation\/deploy-project\.managedPolicyArns$/,
    );
  });

  test('is accepted on the GitHub apply role of an environment without a deploy project', () => {
    const outdir = synthApp(
      withEnvironment('staging', (env) => ({ ...env, runners: undefined, applyPolicyArns: [ADMIN] })),
    );
    const stack = readStack(outdir, 'staging-foundation') as unknown as PolicyMetadata;
    expect(stack['//'].gantry_policy.suppressions.map((s) => s.reason)).toEqual([
      'AdministratorAccess passed explicitly in staging-foundation/deploy-roles.apply.managedPolicyArns',
    ]);
  });

  test('other policies are not suppressed', () => {
    const outdir = synthApp();
    const stack = readStack(outdir, 'dev-foundation') as unknown as PolicyMetadata;
    expect(stack['//'].gantry_policy.suppressions).toEqual([]);
  });
});
