import { evaluate, globMatch, type PolicyDocument, type PolicyStatement } from './iam-evaluator';

const doc = (...Statement: PolicyStatement[]): PolicyDocument => ({ Version: '2012-10-17', Statement });
const allow = (extra: Partial<PolicyStatement> = {}): PolicyStatement => ({
  Effect: 'Allow',
  Action: 's3:GetObject',
  Resource: 'arn:aws:s3:::bucket/*',
  ...extra,
});
const get = { action: 's3:GetObject', resource: 'arn:aws:s3:::bucket/key', context: {} };

describe('iam evaluator: effects', () => {
  test('allows a request an Allow statement matches', () => {
    expect(evaluate([doc(allow())], get)).toBe('allow');
  });

  test('implicitly denies a request nothing matches', () => {
    expect(evaluate([doc(allow())], { ...get, action: 's3:PutObject' })).toBe('implicit-deny');
    expect(evaluate([], get)).toBe('implicit-deny');
  });

  test('an explicit Deny wins over an Allow, in either order and across documents', () => {
    const deny: PolicyStatement = { Effect: 'Deny', Action: 's3:*', Resource: '*' };
    expect(evaluate([doc(allow(), deny)], get)).toBe('deny');
    expect(evaluate([doc(deny, allow())], get)).toBe('deny');
    expect(evaluate([doc(allow()), doc(deny)], get)).toBe('deny');
  });

  test('accepts documents as JSON text and a single statement object', () => {
    expect(evaluate([JSON.stringify({ Version: '2012-10-17', Statement: allow() })], get)).toBe('allow');
  });

  test('throws on an unknown Effect or a statement without Action', () => {
    expect(() => evaluate([doc({ Effect: 'Maybe' as 'Allow', Action: '*' })], get)).toThrow(/Effect/);
    expect(() => evaluate([doc({ Effect: 'Allow' })], get)).toThrow(/Action or NotAction/);
  });
});

describe('iam evaluator: actions and resources', () => {
  test('Action wildcards are case-insensitive and ? matches one character', () => {
    expect(evaluate([doc(allow({ Action: 'S3:get*' }))], get)).toBe('allow');
    expect(evaluate([doc(allow({ Action: 's3:GetObjec?' }))], get)).toBe('allow');
    expect(evaluate([doc(allow({ Action: 's3:Get?' }))], get)).toBe('implicit-deny');
    expect(evaluate([doc(allow({ Action: ['ec2:*', 's3:GetObject'] }))], get)).toBe('allow');
  });

  test('NotAction matches every action except those listed', () => {
    const stmt = allow({ Action: undefined, NotAction: 's3:Put*' });
    expect(evaluate([doc(stmt)], get)).toBe('allow');
    expect(evaluate([doc(stmt)], { ...get, action: 's3:PutObject' })).toBe('implicit-deny');
  });

  test('Resource wildcards are case-sensitive and * crosses "/" and ":"', () => {
    expect(evaluate([doc(allow({ Resource: 'arn:aws:s3:::BUCKET/*' }))], get)).toBe('implicit-deny');
    expect(evaluate([doc(allow({ Resource: 'arn:aws:s3:::*' }))], get)).toBe('allow');
    expect(evaluate([doc(allow({ Resource: 'arn:aws:s3:::other/*' }))], get)).toBe('implicit-deny');
  });

  test('NotResource matches every resource except those listed', () => {
    const stmt = allow({ Resource: undefined, NotResource: 'arn:aws:s3:::bucket/secret*' });
    expect(evaluate([doc(stmt)], get)).toBe('allow');
    expect(evaluate([doc(stmt)], { ...get, resource: 'arn:aws:s3:::bucket/secret.txt' })).toBe(
      'implicit-deny',
    );
  });

  test('a request without a resource matches only statements with no Resource or Resource "*"', () => {
    const req = { action: 's3:GetObject', context: {} };
    expect(evaluate([doc(allow())], req)).toBe('implicit-deny');
    expect(evaluate([doc(allow({ Resource: '*' }))], req)).toBe('allow');
    expect(evaluate([doc(allow({ Resource: undefined }))], req)).toBe('allow');
  });
});

describe('iam evaluator: principals', () => {
  const oidc = 'arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com';
  const trust = doc({
    Effect: 'Allow',
    Principal: { Federated: oidc },
    Action: 'sts:AssumeRoleWithWebIdentity',
  });
  const assume = { action: 'sts:AssumeRoleWithWebIdentity', context: {} };

  test('matches a federated principal exactly', () => {
    expect(evaluate([trust], { ...assume, principal: { type: 'Federated', id: oidc } })).toBe('allow');
    expect(
      evaluate([trust], { ...assume, principal: { type: 'Federated', id: oidc.replace('111', '222') } }),
    ).toBe('implicit-deny');
    expect(evaluate([trust], { ...assume, principal: { type: 'AWS', id: oidc } })).toBe('implicit-deny');
  });

  test('an account id or its root ARN stands for every principal of the account', () => {
    const role = 'arn:aws:iam::222222222222:role/x';
    for (const account of ['222222222222', 'arn:aws:iam::222222222222:root']) {
      const p = doc({ Effect: 'Allow', Principal: { AWS: account }, Action: 'sts:AssumeRole' });
      expect(
        evaluate([p], { action: 'sts:AssumeRole', principal: { type: 'AWS', id: role }, context: {} }),
      ).toBe('allow');
      expect(
        evaluate([p], {
          action: 'sts:AssumeRole',
          principal: { type: 'AWS', id: 'arn:aws:iam::333333333333:role/x' },
          context: {},
        }),
      ).toBe('implicit-deny');
    }
  });

  test('"*" and NotPrincipal', () => {
    const any = doc({ Effect: 'Allow', Principal: '*', Action: 'sts:AssumeRole' });
    const req = {
      action: 'sts:AssumeRole',
      principal: { type: 'AWS' as const, id: 'arn:aws:iam::1:role/a' },
      context: {},
    };
    expect(evaluate([any], req)).toBe('allow');
    const notMe = doc({ Effect: 'Deny', NotPrincipal: { AWS: 'arn:aws:iam::1:role/a' }, Action: '*' });
    expect(evaluate([any, notMe], req)).toBe('allow');
    expect(evaluate([any, notMe], { ...req, principal: { type: 'AWS', id: 'arn:aws:iam::1:role/b' } })).toBe(
      'deny',
    );
  });
});

describe('iam evaluator: string and ARN conditions', () => {
  const withCondition = (Condition: PolicyStatement['Condition']) => [doc(allow({ Condition }))];
  const ctx = (context: Record<string, string | string[]>) => ({ ...get, context });

  test('StringEquals is exact and case-sensitive; values OR, keys AND', () => {
    const p = withCondition({ StringEquals: { 'k:a': ['x', 'y'], 'k:b': 'z' } });
    expect(evaluate(p, ctx({ 'k:a': 'y', 'k:b': 'z' }))).toBe('allow');
    expect(evaluate(p, ctx({ 'k:a': 'Y', 'k:b': 'z' }))).toBe('implicit-deny');
    expect(evaluate(p, ctx({ 'k:a': 'x' }))).toBe('implicit-deny');
    expect(evaluate(p, ctx({ 'k:a': 'x*', 'k:b': 'z' }))).toBe('implicit-deny');
  });

  test('condition key names are case-insensitive', () => {
    const p = withCondition({ StringEquals: { 'Token.Actions.GithubUserContent.com:Sub': 'a' } });
    expect(evaluate(p, ctx({ 'token.actions.githubusercontent.com:sub': 'a' }))).toBe('allow');
  });

  test('StringLike supports * and ? and is otherwise literal', () => {
    const p = withCondition({ StringLike: { sub: 'repo:acme/platform:ref:refs/heads/*' } });
    expect(evaluate(p, ctx({ sub: 'repo:acme/platform:ref:refs/heads/main' }))).toBe('allow');
    expect(evaluate(p, ctx({ sub: 'repo:acme/platformx:ref:refs/heads/main' }))).toBe('implicit-deny');
    expect(evaluate(withCondition({ StringLike: { sub: 'a.c' } }), ctx({ sub: 'abc' }))).toBe(
      'implicit-deny',
    );
    expect(evaluate(withCondition({ StringLike: { sub: 'a?c' } }), ctx({ sub: 'abc' }))).toBe('allow');
  });

  test('StringNotEquals / StringNotLike hold when no listed value matches, and for a missing key', () => {
    const p = withCondition({ StringNotEquals: { k: ['a', 'b'] } });
    expect(evaluate(p, ctx({ k: 'c' }))).toBe('allow');
    expect(evaluate(p, ctx({ k: 'b' }))).toBe('implicit-deny');
    expect(evaluate(p, ctx({}))).toBe('allow');
    const q = withCondition({ StringNotLike: { k: 'a*' } });
    expect(evaluate(q, ctx({ k: 'abc' }))).toBe('implicit-deny');
    expect(evaluate(q, ctx({ k: 'bcd' }))).toBe('allow');
  });

  test('a positive operator on a missing key is false; IfExists makes it true', () => {
    expect(evaluate(withCondition({ StringEquals: { k: 'a' } }), ctx({}))).toBe('implicit-deny');
    expect(evaluate(withCondition({ StringEqualsIfExists: { k: 'a' } }), ctx({}))).toBe('allow');
    expect(evaluate(withCondition({ StringEqualsIfExists: { k: 'a' } }), ctx({ k: 'b' }))).toBe(
      'implicit-deny',
    );
  });

  test('StringEqualsIgnoreCase ignores case', () => {
    expect(evaluate(withCondition({ StringEqualsIgnoreCase: { k: 'ABC' } }), ctx({ k: 'abc' }))).toBe(
      'allow',
    );
  });

  test('ArnLike and ArnEquals match each ARN part with wildcards', () => {
    for (const op of ['ArnLike', 'ArnEquals']) {
      const p = withCondition({ [op]: { 'aws:SourceArn': 'arn:aws:codebuild:eu-west-1:*:project/acme-*' } });
      expect(
        evaluate(p, ctx({ 'aws:SourceArn': 'arn:aws:codebuild:eu-west-1:111111111111:project/acme-dev' })),
      ).toBe('allow');
      expect(
        evaluate(p, ctx({ 'aws:SourceArn': 'arn:aws:codebuild:us-east-1:111111111111:project/acme-dev' })),
      ).toBe('implicit-deny');
      expect(evaluate(p, ctx({ 'aws:SourceArn': 'not-an-arn' }))).toBe('implicit-deny');
    }
    const not = withCondition({ ArnNotLike: { a: 'arn:aws:iam::*:role/x' } });
    expect(evaluate(not, ctx({ a: 'arn:aws:iam::1:role/x' }))).toBe('implicit-deny');
    expect(evaluate(not, ctx({ a: 'arn:aws:iam::1:role/y' }))).toBe('allow');
  });

  test('Bool compares true/false; booleans in the policy are accepted', () => {
    const p = withCondition({ Bool: { 'aws:SecureTransport': false } });
    expect(evaluate(p, ctx({ 'aws:SecureTransport': 'false' }))).toBe('allow');
    expect(evaluate(p, ctx({ 'aws:SecureTransport': 'true' }))).toBe('implicit-deny');
    expect(evaluate(p, ctx({}))).toBe('implicit-deny');
  });

  test('throws on an unknown operator and on policy variables', () => {
    expect(() => evaluate(withCondition({ NumericLessThan: { k: '1' } }), ctx({ k: '0' }))).toThrow(
      /unsupported/,
    );
    expect(() =>
      evaluate(withCondition({ StringEquals: { k: '${aws:username}' } }), ctx({ k: 'a' })),
    ).toThrow(/policy variables/);
  });
});

describe('iam evaluator: Null and explicit deny (the CodeBuild StartBuild guard pattern)', () => {
  // Allow StartBuild on one project; deny it whenever any override key is present.
  const project = 'arn:aws:codebuild:eu-west-1:111111111111:project/acme-dev-deploy';
  const policy = doc(
    { Effect: 'Allow', Action: 'codebuild:StartBuild', Resource: project },
    {
      Effect: 'Deny',
      Action: 'codebuild:StartBuild',
      Resource: '*',
      Condition: { Null: { 'codebuild:source.buildspec': 'false' } },
    },
    {
      Effect: 'Deny',
      Action: 'codebuild:StartBuild',
      Resource: '*',
      Condition: { Null: { 'codebuild:environmentVariablesOverride.name': 'false' } },
    },
  );
  const start = (context: Record<string, string | string[]>) => ({
    action: 'codebuild:StartBuild',
    resource: project,
    context,
  });

  test('a start without overrides is allowed', () => {
    expect(evaluate([policy], start({}))).toBe('allow');
  });

  test('a buildspec override is denied', () => {
    expect(evaluate([policy], start({ 'codebuild:source.buildspec': 'version: 0.2' }))).toBe('deny');
  });

  test('an environment variable override (multi-valued key) is denied', () => {
    expect(evaluate([policy], start({ 'codebuild:environmentVariablesOverride.name': ['A', 'B'] }))).toBe(
      'deny',
    );
  });

  test('another project is not allowed', () => {
    expect(evaluate([policy], { ...start({}), resource: project.replace('dev', 'prod') })).toBe(
      'implicit-deny',
    );
  });

  test('Null "true" holds only when the key is absent', () => {
    const p = [doc(allow({ Condition: { Null: { k: 'true' } } }))];
    expect(evaluate(p, { ...get, context: {} })).toBe('allow');
    expect(evaluate(p, { ...get, context: { k: '' } })).toBe('implicit-deny');
  });

  test('Null rejects a value other than true/false and set prefixes', () => {
    expect(() => evaluate([doc(allow({ Condition: { Null: { k: 'yes' } } }))], get)).toThrow(/Null/);
    expect(() => evaluate([doc(allow({ Condition: { 'ForAnyValue:Null': { k: 'true' } } }))], get)).toThrow(
      /not a valid/,
    );
  });
});

describe('iam evaluator: set operators', () => {
  const withCondition = (Condition: PolicyStatement['Condition']) => [doc(allow({ Condition }))];
  const ctx = (context: Record<string, string | string[]>) => ({ ...get, context });

  test('ForAllValues holds when every value is listed, and vacuously for a missing or empty key', () => {
    const p = withCondition({ 'ForAllValues:StringEquals': { tags: ['a', 'b'] } });
    expect(evaluate(p, ctx({ tags: ['a', 'b'] }))).toBe('allow');
    expect(evaluate(p, ctx({ tags: ['a', 'c'] }))).toBe('implicit-deny');
    expect(evaluate(p, ctx({}))).toBe('allow');
    expect(evaluate(p, ctx({ tags: [] }))).toBe('allow');
  });

  test('ForAnyValue holds when at least one value is listed, never for a missing key', () => {
    const p = withCondition({ 'ForAnyValue:StringLike': { tags: ['a*'] } });
    expect(evaluate(p, ctx({ tags: ['x', 'ab'] }))).toBe('allow');
    expect(evaluate(p, ctx({ tags: ['x', 'y'] }))).toBe('implicit-deny');
    expect(evaluate(p, ctx({}))).toBe('implicit-deny');
  });

  test('ForAnyValue with a negated operator holds when some value is not listed', () => {
    const p = withCondition({ 'ForAnyValue:StringNotEquals': { tags: ['a'] } });
    expect(evaluate(p, ctx({ tags: ['a', 'b'] }))).toBe('allow');
    expect(evaluate(p, ctx({ tags: ['a'] }))).toBe('implicit-deny');
  });

  test('ForAllValues with a negated operator holds when no value is listed, and vacuously for a missing or empty key', () => {
    // The shape of a Deny that spares only keys carrying one alias (kms:ResourceAliases is multi-valued).
    const p = withCondition({ 'ForAllValues:StringNotEquals': { 'kms:ResourceAliases': ['alias/state'] } });
    expect(evaluate(p, ctx({ 'kms:ResourceAliases': ['alias/other', 'alias/more'] }))).toBe('allow');
    expect(evaluate(p, ctx({ 'kms:ResourceAliases': ['alias/other', 'alias/state'] }))).toBe('implicit-deny');
    expect(evaluate(p, ctx({ 'kms:ResourceAliases': ['alias/state'] }))).toBe('implicit-deny');
    expect(evaluate(p, ctx({ 'kms:ResourceAliases': [] }))).toBe('allow');
    expect(evaluate(p, ctx({}))).toBe('allow');
  });

  test('a multi-valued key without a prefix: positive means any matches, negated means none matches', () => {
    expect(evaluate(withCondition({ StringEquals: { k: 'a' } }), ctx({ k: ['b', 'a'] }))).toBe('allow');
    expect(evaluate(withCondition({ StringNotEquals: { k: 'a' } }), ctx({ k: ['b', 'a'] }))).toBe(
      'implicit-deny',
    );
    expect(evaluate(withCondition({ StringNotEquals: { k: 'a' } }), ctx({ k: ['b', 'c'] }))).toBe('allow');
  });
});

describe('globMatch', () => {
  test.each([
    ['*', '', true],
    ['a*', 'a', true],
    ['a*c', 'abbbc', true],
    ['a*c', 'abbbd', false],
    ['a.b', 'axb', false],
    ['(a)', '(a)', true],
    ['a?', 'a', false],
  ])('%s vs %s -> %s', (pattern, value, expected) => {
    expect(globMatch(pattern, value)).toBe(expected);
  });
});
