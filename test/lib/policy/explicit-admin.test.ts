import { readStack, synthApp, withEnvironment } from '../../util';

const ADMIN = 'arn:aws:iam::aws:policy/AdministratorAccess';
const POWER_USER = 'arn:aws:iam::aws:policy/PowerUserAccess';
const REASON = 'sandbox account, rebuilt every night';

interface PolicyMetadata {
  readonly '//': {
    readonly gantry_policy: {
      readonly suppressions: ReadonlyArray<{ ruleId: string; reason: string; address: string }>;
    };
  };
}

function suppressions(outdir: string, stack: string) {
  return (readStack(outdir, stack) as unknown as PolicyMetadata)['//'].gantry_policy.suppressions;
}

describe('AdministratorAccess and PowerUserAccess (GANTRY-IAM-007, GANTRY-IAM-011)', () => {
  test.each([ADMIN, POWER_USER])('%s in applyPolicyArns, without a reason, fails synth', (arn) => {
    expect(() => synthApp(withEnvironment('dev', (env) => ({ ...env, applyPolicyArns: [arn] })))).toThrow(
      /GANTRY-IAM-011 aws_iam_role_policy_attachment\.deploy-project_managed-policy-\w+: found attaches "arn:aws:iam::aws:policy\/\w+"/,
    );
  });

  test('AdministratorAccess with a reason is accepted on the deploy project role, both rules suppressed with it', () => {
    const outdir = synthApp(
      withEnvironment('dev', (env) => ({
        ...env,
        additionalApplyPolicies: [{ policyArn: ADMIN, reason: REASON }],
      })),
    );
    const found = suppressions(outdir, 'dev-foundation');
    expect(found.map((s) => s.ruleId).sort()).toEqual(['GANTRY-IAM-007', 'GANTRY-IAM-011']);
    for (const s of found) {
      expect(s.address).toMatch(
        /^aws_iam_role_policy_attachment\.deploy-project_additional-policy-AdministratorAccess_/,
      );
      expect(s.reason).toBe(
        `AdministratorAccess passed explicitly in dev-foundation/deploy-project.additionalPolicies: ${REASON}`,
      );
    }
  });

  test('PowerUserAccess with a reason on the GitHub apply role of an environment without a deploy project', () => {
    const outdir = synthApp(
      withEnvironment('staging', (env) => ({
        ...env,
        runners: undefined,
        additionalApplyPolicies: [{ policyArn: POWER_USER, reason: REASON }],
      })),
    );
    expect(suppressions(outdir, 'staging-foundation')).toEqual([
      {
        ruleId: 'GANTRY-IAM-011',
        address: expect.stringMatching(
          /^aws_iam_role_policy_attachment\.deploy-roles_apply-additional-policy-PowerUserAccess_/,
        ),
        reason: `PowerUserAccess passed explicitly in staging-foundation/deploy-roles.apply.additionalPolicies: ${REASON}`,
      },
    ]);
  });

  test('a reason too short to say anything is refused by the configuration', () => {
    expect(() =>
      synthApp(
        withEnvironment('dev', (env) => ({
          ...env,
          additionalApplyPolicies: [{ policyArn: POWER_USER, reason: 'needed' }],
        })),
      ),
    ).toThrow(/dev\.additionalApplyPolicies\[0\]\.reason: "needed" must say, in 10\+ characters/);
  });

  test('other policies are not suppressed, and the reference config carries no broad policy', () => {
    const outdir = synthApp();
    for (const env of ['dev', 'staging', 'prod']) {
      expect(suppressions(outdir, `${env}-foundation`)).toEqual([]);
      const attachments = Object.values(
        readStack(outdir, `${env}-foundation`).resource?.aws_iam_role_policy_attachment ?? {},
      );
      for (const a of attachments) expect([ADMIN, POWER_USER]).not.toContain(a.policy_arn);
    }
  });
});
