/**
 * Statement matching and the widening rules, one rule per test, on small policy documents: what a
 * reviewer is told widens access, and what is not called out.
 */
import {
  diffStatements,
  parsePolicyDocument,
  type WideningContext,
} from '../../../lib/runtime/review/policy-diff';

type Statement = Record<string, unknown>;
const doc = (...Statement: Statement[]) => JSON.stringify({ Version: '2012-10-17', Statement });
const CHANGE: WideningContext = { kind: 'identity', everythingWidens: true };
const NEW_PRINCIPAL: WideningContext = { kind: 'identity', everythingWidens: false };

function diff(before: string | null, after: string | null, context = CHANGE) {
  return diffStatements(
    before ? (parsePolicyDocument(before) ?? []) : [],
    after ? (parsePolicyDocument(after) ?? []) : [],
    context,
  );
}

const read = { Sid: 'Read', Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' };

describe('statement matching', () => {
  test('statements are matched by Sid, whatever their position', () => {
    const other = { Sid: 'List', Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::b' };
    const d = diff(
      doc(read, other),
      doc({ ...other }, { ...read, Action: ['s3:GetObject', 's3:PutObject'] }),
    );
    expect(d.unchanged).toBe(1);
    expect(d.statements).toHaveLength(1);
    expect(d.statements[0]).toMatchObject({
      sid: 'Read',
      change: 'changed',
      actions: { added: ['s3:PutObject'] },
    });
  });

  test('statements without a Sid are matched by content: equal ones are unchanged, similar ones compared', () => {
    const a = {
      Effect: 'Allow',
      Action: ['logs:PutLogEvents', 'logs:CreateLogStream'],
      Resource: 'arn:aws:logs:*:1:log-group:x',
    };
    const b = { Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' };
    const d = diff(
      doc(a, b),
      doc(b, { ...a, Resource: ['arn:aws:logs:*:1:log-group:x', 'arn:aws:logs:*:1:log-group:y'] }),
    );
    expect(d.unchanged).toBe(1);
    expect(d.statements).toEqual([
      expect.objectContaining({
        change: 'changed',
        label: 'statement 1',
        resources: expect.objectContaining({ added: ['arn:aws:logs:*:1:log-group:y'] }),
      }),
    ]);
  });

  test('actions compare case-insensitively, and a reordered document has no change', () => {
    const d = diff(
      doc(read, { Effect: 'Deny', Action: 'S3:DeleteObject', Resource: '*' }),
      doc({ Effect: 'Deny', Action: 's3:deleteobject', Resource: '*' }, read),
    );
    expect(d).toEqual({ statements: [], unchanged: 2 });
  });

  test('the same Sid with another effect is a removed and an added statement', () => {
    const d = diff(doc(read), doc({ ...read, Effect: 'Deny' }));
    expect(d.statements.map((s) => [s.effect, s.change])).toEqual([
      ['Deny', 'added'],
      ['Allow', 'removed'],
    ]);
  });

  test('a document that is not a policy is not read as one', () => {
    expect(parsePolicyDocument('{"Version":"2012-10-17"}')).toBeNull();
    expect(parsePolicyDocument('not json')).toBeNull();
  });
});

describe('what widens access', () => {
  const trust = (subs: string[], extra: Record<string, unknown> = {}) =>
    doc({
      Sid: 'Github',
      Effect: 'Allow',
      Principal: { Federated: 'arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com' },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: {
        StringEquals: {
          'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
          'token.actions.githubusercontent.com:sub': subs,
        },
        ...extra,
      },
    });
  const TRUST: WideningContext = { kind: 'trust', everythingWidens: true };

  test('a new value in a condition of an Allow (a second sub)', () => {
    const [s] = diff(
      trust(['repo:a/b:ref:refs/heads/main']),
      trust(['repo:a/b:ref:refs/heads/main', 'repo:a/b:pull_request']),
      TRUST,
    ).statements;
    expect(s.widens).toEqual([
      'adds a value to condition StringEquals token.actions.githubusercontent.com:sub "repo:a/b:pull_request"',
    ]);
  });

  test('a narrower condition value does not widen; a removed condition does', () => {
    const narrower = diff(
      trust(['repo:a/b:pull_request', 'repo:a/b:ref:refs/heads/main']),
      trust(['repo:a/b:ref:refs/heads/main']),
      TRUST,
    );
    expect(narrower.statements[0].widens).toEqual([]);
    const removed = diff(trust(['x'], { StringLike: { 'aws:SourceArn': 'arn:x' } }), trust(['x']), TRUST);
    expect(removed.statements[0].widens).toEqual(['removes condition StringLike aws:SourceArn']);
  });

  test('a new principal, and a wildcard principal', () => {
    const base = {
      Sid: 'Pull',
      Effect: 'Allow',
      Action: 'ecr:BatchGetImage',
      Principal: { AWS: 'arn:aws:iam::2:root' },
    };
    const d = diff(
      doc(base),
      doc({ ...base, Principal: { AWS: ['arn:aws:iam::2:root', 'arn:aws:iam::3:root', '*'] } }),
      {
        kind: 'resource',
        everythingWidens: true,
      },
    );
    expect(d.statements[0].widens).toEqual([
      'new principal AWS arn:aws:iam::3:root',
      'wildcard principal AWS *',
    ]);
  });

  test('a removed Deny, a Deny that covers less, a Deny that gains a condition', () => {
    const deny = {
      Sid: 'NoDelete',
      Effect: 'Deny',
      Action: ['s3:DeleteObject', 's3:DeleteBucket'],
      Resource: '*',
    };
    expect(diff(doc(read, deny), doc(read)).statements[0].widens).toEqual(['removes a Deny statement']);
    expect(diff(doc(deny), doc({ ...deny, Action: 's3:DeleteObject' })).statements[0].widens).toEqual([
      'Deny no longer covers s3:DeleteBucket',
    ]);
    expect(
      diff(doc(deny), doc({ ...deny, Condition: { StringNotEquals: { 'aws:PrincipalTag/team': 'ops' } } }))
        .statements[0].widens,
    ).toEqual(['Deny gains condition StringNotEquals aws:PrincipalTag/team, so it applies in fewer cases']);
    // A new Deny narrows: nothing to call out.
    expect(diff(doc(read), doc(read, deny)).statements[0].widens).toEqual([]);
  });

  test('iam:PassRole and sts:AssumeRole in identity policies, wildcards in actions and resources', () => {
    const d = diff(
      doc(read),
      doc({ ...read, Action: ['s3:GetObject', 'iam:PassRole', 'sts:AssumeRole', 'ec2:*', 's3:PutObject'] }),
    );
    expect(d.statements[0].widens).toEqual([
      'grants iam:PassRole without named roles and iam:PassedToService',
      'grants sts:AssumeRole',
      'wildcard action ec2:*',
      'adds action s3:PutObject',
    ]);
    const star = diff(doc(read), doc({ ...read, Resource: ['arn:aws:s3:::b/*', '*'] }));
    expect(star.statements[0].widens).toEqual(['wildcard resource "*" for s3:GetObject']);
  });

  test('the policies of a new principal call out only what SECURITY.md forbids or confines', () => {
    const scopedPassRole = {
      Effect: 'Allow',
      Action: 'iam:PassRole',
      Resource: 'arn:aws:iam::1:role/app-task',
      Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
    };
    const describe = { Effect: 'Allow', Action: ['ec2:DescribeSubnets', 'ec2:DescribeVpcs'], Resource: '*' };
    expect(
      diff(null, doc(read, scopedPassRole, describe), NEW_PRINCIPAL).statements.flatMap((s) => s.widens),
    ).toEqual([]);
    const loose = { Effect: 'Allow', Action: ['iam:PassRole', 's3:*'], Resource: '*' };
    expect(diff(null, doc(loose), NEW_PRINCIPAL).statements[0].widens).toEqual([
      'grants iam:PassRole without named roles and iam:PassedToService',
      'wildcard action s3:*',
      'wildcard resource "*" for iam:PassRole, s3:*',
    ]);
    // The same statements added to an existing principal's policy: new access.
    expect(diff(doc(describe), doc(describe, read)).statements[0].widens).toEqual(['new Allow statement']);
  });

  test("AWS's default key policy (kms:* for the account root) is not called out; kms:* for anyone else is", () => {
    const root = {
      Sid: 'Root',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::111111111111:root' },
      Action: 'kms:*',
      Resource: '*',
    };
    const KEY: WideningContext = { kind: 'resource', everythingWidens: false };
    expect(diff(null, doc(root), KEY).statements[0].widens).toEqual([]);
    const role = { ...root, Principal: { AWS: 'arn:aws:iam::1:role/app' } };
    expect(diff(null, doc(role), KEY).statements[0].widens).toEqual(['wildcard action kms:*']);
  });

  test('NotAction in an Allow, and a NotAction that excludes less', () => {
    const all = { Sid: 'All', Effect: 'Allow', NotAction: ['iam:*', 'organizations:*'], Resource: '*' };
    expect(diff(null, doc(all), NEW_PRINCIPAL).statements[0].widens).toEqual([
      'wildcard resource "*" for NotAction',
      'Allow with NotAction iam:*, organizations:*',
    ]);
    expect(diff(doc(all), doc({ ...all, NotAction: 'organizations:*' })).statements[0].widens).toEqual([
      'NotAction no longer excludes iam:*',
    ]);
  });
});
