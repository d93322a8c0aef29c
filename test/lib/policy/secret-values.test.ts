import { SsmParameter } from '@cdktf/provider-aws/lib/ssm-parameter';
import { TerraformVariable } from 'cdktf';
import { policyStack, violations } from './fixtures';

// GANTRY-SEC-001 scans every string of a stack for secret values; each kind is found wherever it
// sits, and the finding names the attribute path.

const GITHUB_TOKEN = `ghp_${'a1B2'.repeat(9)}`;
const SECRETS: ReadonlyArray<readonly [string, string]> = [
  ['an AWS access key id', 'key AKIAIOSFODNN7EXAMPLE'],
  ['an AWS access key id', 'ASIAIOSFODNN7EXAMPLE'],
  ['a private key', '-----BEGIN RSA PRIVATE KEY-----\nMIIE...'],
  ['a GitHub token', GITHUB_TOKEN],
  ['a GitHub token', `github_pat_${'x'.repeat(22)}`],
  ['a Slack token', 'xoxb-1234567890-abcdef'],
  ['a password in a URL', 'postgres://app:s3cret@db.internal:5432/app'],
];

describe('GANTRY-SEC-001: secret values anywhere in the stack', () => {
  test.each(SECRETS)('%s in a nested attribute (%s)', (what, secret) => {
    const stack = policyStack((s) => {
      new SsmParameter(s, 'param', {
        name: '/acme/config',
        type: 'String',
        value: 'nothing here',
        tags: { note: secret },
      });
    });
    expect(violations(stack)).toContainEqual(
      expect.objectContaining({
        ruleId: 'GANTRY-SEC-001',
        address: 'aws_ssm_parameter.param',
        found: `tags.note holds ${what}`,
      }),
    );
  });

  test('in a list, the path has the index', () => {
    const stack = policyStack((s) => {
      new TerraformVariable(s, 'endpoints', {
        type: 'list(string)',
        default: ['https://ok.example.com', `https://ci:${GITHUB_TOKEN}@git.example.com`],
      });
    });
    expect(violations(stack)).toContainEqual(
      expect.objectContaining({
        ruleId: 'GANTRY-SEC-001',
        address: 'var.endpoints',
        found: 'default[1] holds a password in a URL',
      }),
    );
  });

  test.each([
    'https://example.com/path',
    'arn:aws:secretsmanager:eu-west-1:111111111111:secret:acme/db',
    'AKIA-short',
    'ghp_short',
    'xoxb-short',
    '${var.database_url}',
  ])('leaves %s alone', (value) => {
    const stack = policyStack((s) => {
      new SsmParameter(s, 'param', { name: '/acme/config', type: 'String', value });
    });
    expect(violations(stack).filter((v) => v.ruleId === 'GANTRY-SEC-001')).toEqual([]);
  });
});
