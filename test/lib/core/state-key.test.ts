import { stateKeyAliasArn, stateKeyRef, stateKeyStatement } from '../../../lib/core/state-key';

const HOME = { accountId: '111111111111', region: 'eu-west-1' };

describe('stateKeyRef', () => {
  test.each([
    [
      'a key ARN stays one',
      'arn:aws:kms:eu-west-1:222222222222:key/0b2d0000-0000-4000-8000-000000000002',
      { keyArn: 'arn:aws:kms:eu-west-1:222222222222:key/0b2d0000-0000-4000-8000-000000000002' },
    ],
    [
      'a key id is a key of the home account and region',
      '0a1d0000-0000-4000-8000-000000000001',
      { keyArn: 'arn:aws:kms:eu-west-1:111111111111:key/0a1d0000-0000-4000-8000-000000000001' },
    ],
    [
      'a bare alias resolves in the home account and region',
      'alias/acme-dev-tfstate',
      { aliasName: 'alias/acme-dev-tfstate', accountId: '111111111111', region: 'eu-west-1' },
    ],
    [
      "an alias ARN names its own account and region, not the caller's",
      'arn:aws-cn:kms:cn-north-1:444444444444:alias/acme-tooling-tfstate',
      { aliasName: 'alias/acme-tooling-tfstate', accountId: '444444444444', region: 'cn-north-1' },
    ],
  ])('%s', (_name, kmsKeyId, expected) => {
    expect(stateKeyRef(kmsKeyId, HOME)).toEqual(expected);
  });

  test('the alias ARN of an alias-named key round-trips', () => {
    const arn = 'arn:aws:kms:eu-central-1:444444444444:alias/acme-tooling-tfstate';
    const ref = stateKeyRef(arn, HOME);
    expect('aliasName' in ref && stateKeyAliasArn(ref)).toBe(arn);
  });
});

describe('stateKeyStatement', () => {
  test('a key ARN is the resource', () => {
    expect(
      stateKeyStatement('StateKey', ['kms:Decrypt'], { keyArn: 'arn:aws:kms:eu-west-1:1:key/k' }),
    ).toEqual({
      Sid: 'StateKey',
      Effect: 'Allow',
      Action: ['kms:Decrypt'],
      Resource: 'arn:aws:kms:eu-west-1:1:key/k',
    });
  });

  test("an alias: the keys of its account and region carrying it, through that region's S3 (China's suffix)", () => {
    const ref = { aliasName: 'alias/acme-cn-tfstate', accountId: '555555555555', region: 'cn-north-1' };
    expect(stateKeyStatement('StateKey', ['kms:Decrypt', 'kms:GenerateDataKey'], ref)).toEqual({
      Sid: 'StateKey',
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: 'arn:aws-cn:kms:cn-north-1:555555555555:key/*',
      Condition: {
        'ForAnyValue:StringEquals': { 'kms:ResourceAliases': 'alias/acme-cn-tfstate' },
        StringEquals: { 'kms:ViaService': 's3.cn-north-1.amazonaws.com.cn' },
      },
    });
  });
});
