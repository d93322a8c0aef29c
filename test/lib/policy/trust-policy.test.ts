import { checkTrustPolicy, type TrustPolicyFinding } from '../../../lib/policy/trust-policy';

const PROVIDER = 'arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com';
const SUB = 'token.actions.githubusercontent.com:sub';
const AUD = 'token.actions.githubusercontent.com:aud';
const WORKFLOW = 'token.actions.githubusercontent.com:job_workflow_ref';

type Condition = Record<string, Record<string, string | string[]>>;

function statement(condition: Condition, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Effect: 'Allow',
    Principal: { Federated: PROVIDER },
    Action: 'sts:AssumeRoleWithWebIdentity',
    Condition: condition,
    ...extra,
  };
}

function policy(...statements: Record<string, unknown>[]): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}

const goodApply = statement({
  StringEquals: { [AUD]: 'sts.amazonaws.com', [SUB]: 'repo:acme/platform:environment:prod' },
});
const goodPlan = statement({
  StringEquals: {
    [AUD]: 'sts.amazonaws.com',
    [SUB]: ['repo:acme/platform:pull_request', 'repo:acme/platform:ref:refs/heads/main'],
  },
});

const invariants = (findings: TrustPolicyFinding[]) => [...new Set(findings.map((f) => f.invariant))].sort();

describe('checkTrustPolicy accepts', () => {
  test('an exact apply trust for environment:prod', () => {
    expect(
      checkTrustPolicy(policy(goodApply), { roleKind: 'apply', maxSessionDurationSeconds: 3600 }),
    ).toEqual([]);
  });

  test('a plan trust for pull_request and main', () => {
    expect(checkTrustPolicy(policy(goodPlan), { roleKind: 'plan' })).toEqual([]);
  });

  test('the immutable-id subject form and a pinned reusable workflow', () => {
    const s = statement({
      StringEquals: {
        [AUD]: 'sts.amazonaws.com',
        [SUB]: ['repo:acme/platform:environment:prod', 'repo:acme@1000001/platform@2000002:environment:prod'],
        [WORKFLOW]: 'acme/platform/.github/workflows/apply.yml@refs/heads/main',
      },
    });
    expect(checkTrustPolicy(policy(s), { roleKind: 'apply', environment: 'prod' })).toEqual([]);
  });

  test('StringLike with a wildcard after the repository for a non-apply role', () => {
    const s = statement({
      StringEquals: { [AUD]: 'sts.amazonaws.com' },
      StringLike: { [SUB]: 'repo:acme/platform:ref:refs/heads/release/*' },
    });
    expect(checkTrustPolicy(policy(s), { roleKind: 'other' })).toEqual([]);
  });

  test('a parsed object as well as JSON text, and statements of other principals', () => {
    const service = {
      Effect: 'Allow',
      Principal: { Service: 'codebuild.amazonaws.com' },
      Action: 'sts:AssumeRole',
    };
    expect(
      checkTrustPolicy({ Version: '2012-10-17', Statement: [service, goodPlan] }, { roleKind: 'plan' }),
    ).toEqual([]);
  });
});

// The corpus of bad trust policies: each names the invariant it must be rejected for.
const corpus: Array<{
  name: string;
  doc: unknown;
  roleKind?: 'plan' | 'apply' | 'other';
  session?: number;
  invariant: TrustPolicyFinding['invariant'];
  statementIndex?: number;
}> = [
  {
    name: 'a GitHub statement without any sub condition',
    doc: policy(statement({ StringEquals: { [AUD]: 'sts.amazonaws.com' } })),
    invariant: 1,
  },
  {
    name: 'a GitHub statement without any Condition at all',
    doc: policy(statement({}, { Condition: undefined })),
    invariant: 1,
  },
  {
    name: 'sub matched with ForAllValues:StringLike (holds when the claim is missing)',
    doc: policy(
      statement({
        StringEquals: { [AUD]: 'sts.amazonaws.com' },
        'ForAllValues:StringLike': { [SUB]: 'repo:acme/platform:ref:refs/heads/main' },
      }),
    ),
    invariant: 1,
  },
  {
    name: 'sub matched with ForAnyValue:StringEquals',
    doc: policy(
      statement({
        StringEquals: { [AUD]: 'sts.amazonaws.com' },
        'ForAnyValue:StringEquals': { [SUB]: 'repo:acme/platform:ref:refs/heads/main' },
      }),
    ),
    invariant: 1,
  },
  {
    name: 'sub matched with StringEqualsIfExists',
    doc: policy(
      statement({
        StringEquals: { [AUD]: 'sts.amazonaws.com' },
        StringEqualsIfExists: { [SUB]: 'repo:acme/platform:ref:refs/heads/main' },
      }),
    ),
    invariant: 1,
  },
  {
    name: 'a missing aud',
    doc: policy(statement({ StringEquals: { [SUB]: 'repo:acme/platform:ref:refs/heads/main' } })),
    invariant: 2,
  },
  {
    name: 'aud matched with StringLike "*"',
    doc: policy(
      statement({
        StringEquals: { [SUB]: 'repo:acme/platform:ref:refs/heads/main' },
        StringLike: { [AUD]: 'sts.*' },
      }),
    ),
    invariant: 2,
  },
  {
    name: 'aud set to another audience',
    doc: policy(
      statement({
        StringEquals: { [AUD]: 'https://github.com/acme', [SUB]: 'repo:acme/platform:ref:refs/heads/main' },
      }),
    ),
    invariant: 2,
  },
  {
    name: 'repo:acme/* (every repository of the owner)',
    doc: policy(
      statement({ StringEquals: { [AUD]: 'sts.amazonaws.com' }, StringLike: { [SUB]: 'repo:acme/*' } }),
    ),
    invariant: 3,
  },
  {
    name: 'repo:acme/platform* (every repository whose name starts with platform)',
    doc: policy(
      statement({
        StringEquals: { [AUD]: 'sts.amazonaws.com' },
        StringLike: { [SUB]: 'repo:acme/platform*:ref:refs/heads/main' },
      }),
    ),
    invariant: 3,
  },
  {
    name: 'repo:*/platform (the same name under any owner)',
    doc: policy(
      statement({
        StringEquals: { [AUD]: 'sts.amazonaws.com' },
        StringLike: { [SUB]: 'repo:*/platform:environment:prod' },
      }),
    ),
    invariant: 3,
  },
  {
    name: 'repo:ac?e/platform (a ? in the owner)',
    doc: policy(
      statement({
        StringEquals: { [AUD]: 'sts.amazonaws.com' },
        StringLike: { [SUB]: 'repo:ac?e/platform:ref:refs/heads/main' },
      }),
    ),
    invariant: 3,
  },
  {
    name: '["repo:acme/platform:ref:refs/heads/main", "*"] (a bare * after a good value)',
    doc: policy(
      statement({
        StringEquals: { [AUD]: 'sts.amazonaws.com' },
        StringLike: { [SUB]: ['repo:acme/platform:ref:refs/heads/main', '*'] },
      }),
    ),
    invariant: 3,
  },
  {
    name: 'an immutable-id subject with a wildcard id (repo:acme@*/platform@*)',
    doc: policy(
      statement({
        StringEquals: { [AUD]: 'sts.amazonaws.com' },
        StringLike: { [SUB]: 'repo:acme@*/platform@*:environment:prod' },
      }),
    ),
    invariant: 3,
  },
  {
    name: 'a job_workflow_ref pin with a wildcard owner',
    doc: policy(
      statement({
        StringEquals: { [AUD]: 'sts.amazonaws.com' },
        StringLike: { [WORKFLOW]: '*/platform/.github/workflows/apply.yml@refs/heads/main' },
      }),
    ),
    invariant: 3,
  },
  {
    name: 'an apply role trusting pull_request',
    doc: policy(
      statement({
        StringEquals: {
          [AUD]: 'sts.amazonaws.com',
          [SUB]: ['repo:acme/platform:environment:prod', 'repo:acme/platform:pull_request'],
        },
      }),
    ),
    roleKind: 'apply',
    invariant: 4,
  },
  {
    name: 'an apply role trusting a branch instead of an environment',
    doc: policy(
      statement({
        StringEquals: { [AUD]: 'sts.amazonaws.com', [SUB]: 'repo:acme/platform:ref:refs/heads/main' },
      }),
    ),
    roleKind: 'apply',
    invariant: 4,
  },
  {
    name: 'an apply role trusting environment:* with StringLike',
    doc: policy(
      statement({
        StringEquals: { [AUD]: 'sts.amazonaws.com' },
        StringLike: { [SUB]: 'repo:acme/platform:environment:*' },
      }),
    ),
    roleKind: 'apply',
    invariant: 4,
  },
  {
    name: 'an apply role with a 12-hour session',
    doc: policy(goodApply),
    roleKind: 'apply',
    session: 43200,
    invariant: 4,
  },
  {
    name: 'a second, weaker statement after a good one',
    doc: policy(
      goodPlan,
      statement({
        StringEquals: { [AUD]: 'sts.amazonaws.com' },
        StringLike: { [SUB]: 'repo:acme/platform:ref:refs/heads/*' },
      }),
    ),
    roleKind: 'plan',
    invariant: 5,
    statementIndex: 1,
  },
  {
    name: 'Principal "*"',
    doc: policy({ Effect: 'Allow', Principal: '*', Action: 'sts:AssumeRole' }),
    invariant: 6,
  },
  {
    name: 'Principal { AWS: "*" }',
    doc: policy({ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' }),
    invariant: 6,
  },
  {
    name: 'a federated provider ARN of any account',
    doc: policy(
      statement(
        { StringEquals: { [AUD]: 'sts.amazonaws.com', [SUB]: 'repo:acme/platform:ref:refs/heads/main' } },
        { Principal: { Federated: 'arn:aws:iam::*:oidc-provider/token.actions.githubusercontent.com' } },
      ),
    ),
    invariant: 6,
  },
  {
    name: 'NotPrincipal in an Allow',
    doc: policy({
      Effect: 'Allow',
      NotPrincipal: { AWS: 'arn:aws:iam::111111111111:root' },
      Action: 'sts:AssumeRole',
    }),
    invariant: 6,
  },
  {
    name: 'a policy with a Terraform interpolation (not literal JSON)',
    doc: '${data.aws_iam_policy_document.trust.json}',
    invariant: 1,
  },
];

describe('checkTrustPolicy rejects', () => {
  test.each(corpus)('$name', ({ doc, roleKind = 'other', session, invariant, statementIndex }) => {
    const findings = checkTrustPolicy(doc, {
      roleKind,
      roleName: 'acme-prod-gh-apply',
      ...(session !== undefined ? { maxSessionDurationSeconds: session } : {}),
    });
    expect(invariants(findings)).toContain(invariant);
    const finding = findings.find((f) => f.invariant === invariant)!;
    expect(finding.message).toContain('role "acme-prod-gh-apply"');
    if (statementIndex !== undefined) {
      expect(finding.statementIndex).toBe(statementIndex);
      expect(finding.message).toContain(`statement ${statementIndex}`);
    }
  });

  test('the corpus holds at least 12 bad policies', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(12);
  });

  test('a finding names the statement by index and Sid', () => {
    const [finding] = checkTrustPolicy(
      policy({ ...statement({ StringEquals: { [SUB]: 'repo:acme/platform:pull_request' } }), Sid: 'Plan' }),
      { roleKind: 'plan', roleName: 'acme-dev-gh-plan' },
    );
    expect(finding).toEqual({
      invariant: 2,
      statementIndex: 0,
      message: expect.stringMatching(
        /^role "acme-dev-gh-plan", statement 0 \(Sid "Plan"\): no "aud" condition/,
      ),
    });
  });

  test('an apply subject for another environment, when the environment is given', () => {
    const findings = checkTrustPolicy(policy(goodApply), { roleKind: 'apply', environment: 'staging' });
    expect(findings.map((f) => f.invariant)).toEqual([4]);
  });

  test('invalid JSON fails closed', () => {
    expect(checkTrustPolicy('{not json', { roleKind: 'other' })).toEqual([
      { invariant: 1, message: 'trust policy: the trust policy is not valid JSON' },
    ]);
  });
});
