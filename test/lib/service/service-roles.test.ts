import { TerraformStack, Testing } from 'cdktf';
import { GantryConfigError } from '../../../lib/core/errors';
import { ServiceRoles, type ServiceRolesProps } from '../../../lib/service';

const SECRET = 'arn:aws:secretsmanager:eu-west-1:333333333333:secret:acme/prod/database-url';
const PARAMETER = 'arn:aws:ssm:eu-west-1:333333333333:parameter/acme/prod/api/token';
const base: ServiceRolesProps = {
  organization: 'acme',
  environment: 'prod',
  serviceName: 'api',
  accountId: '333333333333',
  region: 'eu-west-1',
  secretArns: [SECRET, `${SECRET}:password::`, PARAMETER],
};

type Resources = Record<string, Record<string, Record<string, unknown>>>;
interface Statement {
  Sid: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Principal?: unknown;
  Condition?: unknown;
}

function synth(props: ServiceRolesProps = base): Resources {
  return (
    JSON.parse(Testing.synthScope((scope) => void new ServiceRoles(scope, 'roles', props))) as {
      resource: Resources;
    }
  ).resource;
}

describe('ServiceRoles', () => {
  const resources = synth();
  const roles = Object.values(resources.aws_iam_role);
  const [policy] = Object.values(resources.aws_iam_role_policy);
  const statements = (JSON.parse(policy.policy as string) as { Statement: Statement[] }).Statement;

  test('a task role and a distinct execution role with deterministic names', () => {
    expect(roles.map((r) => r.name).sort()).toEqual(['acme-prod-api-exec', 'acme-prod-api-task']);
    const construct = new ServiceRoles(new TerraformStack(Testing.app(), 's'), 'r', base);
    expect(construct.taskRoleArn).toBe('arn:aws:iam::333333333333:role/acme-prod-api-task');
    expect(construct.executionRoleArn).toBe('arn:aws:iam::333333333333:role/acme-prod-api-exec');
  });

  test('both trust only ECS tasks acting for this account', () => {
    for (const role of roles) {
      const trust = JSON.parse(role.assume_role_policy as string) as { Statement: Statement[] };
      expect(trust.Statement).toEqual([
        {
          Sid: 'EcsTasksOfThisAccount',
          Effect: 'Allow',
          Principal: { Service: 'ecs-tasks.amazonaws.com' },
          Action: 'sts:AssumeRole',
          Condition: {
            StringEquals: { 'aws:SourceAccount': '333333333333' },
            ArnLike: { 'aws:SourceArn': 'arn:aws:ecs:eu-west-1:333333333333:*' },
          },
        },
      ]);
    }
  });

  test('only the execution role has permissions, on the execution role', () => {
    expect(Object.values(resources.aws_iam_role_policy)).toHaveLength(1);
    expect(policy.role).toMatch(/^\$\{aws_iam_role\.roles_execution_[0-9A-F]+\.name\}$/);
  });

  test('execution role pulls only from the service repository and writes only its log group', () => {
    const byId = Object.fromEntries(statements.map((s) => [s.Sid, s]));
    expect(byId.PullOwnImage.Resource).toBe('arn:aws:ecr:eu-west-1:333333333333:repository/acme/api');
    expect(byId.WriteOwnLogs.Resource).toBe(
      'arn:aws:logs:eu-west-1:333333333333:log-group:/gantry/acme-prod/services/api:log-stream:*',
    );
    // GetAuthorizationToken is the one action AWS offers no resource-level permission for.
    expect(statements.filter((s) => s.Resource === '*').map((s) => s.Action)).toEqual([
      'ecr:GetAuthorizationToken',
    ]);
  });

  test('execution role reads only the service own secrets', () => {
    const byId = Object.fromEntries(statements.map((s) => [s.Sid, s]));
    expect(byId.ReadOwnSecrets).toMatchObject({
      Action: 'secretsmanager:GetSecretValue',
      Resource: [SECRET, `${SECRET}-??????`],
    });
    expect(byId.ReadOwnParameters).toMatchObject({ Action: 'ssm:GetParameters', Resource: [PARAMETER] });
    const withoutSecrets = synth({ ...base, secretArns: [] });
    const [other] = Object.values(withoutSecrets.aws_iam_role_policy);
    expect(other.policy).not.toContain('secretsmanager');
    expect(other.policy).not.toContain('ssm:');
  });

  test('policies are literal JSON', () => {
    expect(policy.policy).not.toContain('${');
    for (const role of roles) expect(role.assume_role_policy).not.toContain('${');
  });

  test('rejects a secret that is not a Secrets Manager or SSM ARN', () => {
    expect(() => synth({ ...base, secretArns: ['arn:aws:s3:::bucket/key'] })).toThrow(GantryConfigError);
    expect(() => synth({ ...base, secretArns: ['arn:aws:s3:::bucket/key'] })).toThrow(
      'roles.secretArns: "arn:aws:s3:::bucket/key" is not a Secrets Manager secret ARN or an SSM parameter ARN',
    );
  });

  test('rejects names that make a role name longer than 64 characters', () => {
    expect(() =>
      synth({
        ...base,
        organization: 'a'.repeat(21),
        environment: 'b'.repeat(31),
        serviceName: 'payments-worker',
      }),
    ).toThrow(/IAM role name ".*-task": 74 characters, IAM allows at most 64/);
  });
});
