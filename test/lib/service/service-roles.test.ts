import { TerraformStack, TerraformVariable, Testing } from 'cdktf';
import { GantryConfigError } from '../../../lib/core/errors';
import { ServiceRoles, type ExecuteCommandGrant, type ServiceRolesProps } from '../../../lib/service';

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

  describe('grantExecuteCommand', () => {
    const LOG_GROUP = '/gantry/acme-prod/ecs-exec';
    const KEY = 'arn:aws:kms:eu-west-1:333333333333:key/0c3d0000-0000-4000-8000-000000000001';

    function execStatements(grant: ExecuteCommandGrant, props: ServiceRolesProps = base): Statement[] {
      const json = Testing.synthScope((scope) => {
        new ServiceRoles(scope, 'roles', props).grantExecuteCommand(grant);
      });
      const policies = Object.values(
        (JSON.parse(json) as { resource: Resources }).resource.aws_iam_role_policy,
      );
      const exec = policies.find((p) => p.name === 'ecs-exec') as Record<string, unknown>;
      expect(exec.role).toMatch(/^\$\{aws_iam_role\.roles_task_[0-9A-F]+\.name\}$/);
      expect(exec.policy).not.toContain('${');
      return (JSON.parse(exec.policy as string) as { Statement: Statement[] }).Statement;
    }

    test('the task role has no ECS Exec permission unless granted', () => {
      expect(Object.values(resources.aws_iam_role_policy).map((p) => p.name)).toEqual(['ecs-task-execution']);
    });

    test('grants what the ECS Exec guide lists, scoped to the exec log group and the key by alias', () => {
      expect(execStatements({ logGroupName: LOG_GROUP, kmsKeyAlias: 'acme-prod-services' })).toEqual([
        {
          Sid: 'EcsExecChannels',
          Effect: 'Allow',
          Action: [
            'ssmmessages:CreateControlChannel',
            'ssmmessages:CreateDataChannel',
            'ssmmessages:OpenControlChannel',
            'ssmmessages:OpenDataChannel',
          ],
          Resource: '*',
        },
        { Sid: 'EcsExecFindLogGroup', Effect: 'Allow', Action: 'logs:DescribeLogGroups', Resource: '*' },
        {
          Sid: 'EcsExecWriteSessionLogs',
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
          Resource: 'arn:aws:logs:eu-west-1:333333333333:log-group:/gantry/acme-prod/ecs-exec:*',
        },
        {
          Sid: 'EcsExecDecryptSessions',
          Effect: 'Allow',
          Action: 'kms:Decrypt',
          Resource: 'arn:aws:kms:eu-west-1:333333333333:key/*',
          Condition: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': 'alias/acme-prod-services' } },
        },
      ]);
    });

    test('or with the key by literal ARN, in its partition', () => {
      const decrypt = execStatements({ logGroupName: LOG_GROUP, kmsKeyArn: KEY }).find(
        (s) => s.Sid === 'EcsExecDecryptSessions',
      );
      expect(decrypt).toEqual({
        Sid: 'EcsExecDecryptSessions',
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: KEY,
      });
      const china = execStatements(
        { logGroupName: LOG_GROUP, kmsKeyAlias: 'acme-prod-services' },
        { ...base, region: 'cn-north-1', secretArns: [] },
      );
      expect(china.map((s) => s.Resource)).toContain('arn:aws-cn:kms:cn-north-1:333333333333:key/*');
    });

    test('rejects neither or both keys, an AWS-managed alias, and references', () => {
      const roles = () => new ServiceRoles(new TerraformStack(Testing.app(), 's'), 'roles', base);
      expect(() => roles().grantExecuteCommand({ logGroupName: LOG_GROUP })).toThrow(
        's/roles.grantExecuteCommand: give the ECS Exec KMS key either by kmsKeyArn or by kmsKeyAlias (exactly one)',
      );
      expect(() =>
        roles().grantExecuteCommand({
          logGroupName: LOG_GROUP,
          kmsKeyArn: KEY,
          kmsKeyAlias: 'acme-prod-services',
        }),
      ).toThrow(GantryConfigError);
      expect(() =>
        roles().grantExecuteCommand({ logGroupName: LOG_GROUP, kmsKeyAlias: 'alias/acme' }),
      ).toThrow('kmsKeyAlias: "alias/acme" is not a customer alias name without "alias/"');
      expect(() => roles().grantExecuteCommand({ logGroupName: LOG_GROUP, kmsKeyAlias: 'aws/ecs' })).toThrow(
        's/roles.grantExecuteCommand.kmsKeyAlias: "aws/ecs" is not a customer alias name without "alias/"',
      );
      expect(() => roles().grantExecuteCommand({ logGroupName: 'exec logs', kmsKeyArn: 'key/1' })).toThrow(
        [
          's/roles.grantExecuteCommand.logGroupName: "exec logs" is not a log group name (1-512 of letters, digits, "_", "-", "/", ".", "#")',
          's/roles.grantExecuteCommand.kmsKeyArn: "key/1" is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)',
        ].join('\n'),
      );
      const stack = new TerraformStack(Testing.app(), 't');
      const group = new TerraformVariable(stack, 'group', { type: 'string' }).stringValue;
      expect(() =>
        new ServiceRoles(stack, 'roles', base).grantExecuteCommand({ logGroupName: group, kmsKeyAlias: 'k' }),
      ).toThrow(
        't/roles.grantExecuteCommand.logGroupName: a reference was given; the policy is literal JSON',
      );
    });
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
