import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { FieldProblems, GantryConfigError, throwProblems } from '../core/errors';
import {
  executionRoleName,
  logGroupArn,
  partitionOf,
  repositoryName,
  roleArn,
  serviceLogGroupName,
  taskRoleName,
} from '../core/naming';
import { accountIdProblem, regionProblem } from '../core/identifiers';
import { isKnown } from '../core/tokens';
import { ECR_PULL_ACTIONS, ServiceRepository, type IServiceRepository } from '../registry/service-repository';
import { isSecretArn, secretResourceArn } from './private/names';

/**
 * What a `FargateService` needs of its roles, all literal: the role ARNs, the log group the execution
 * role may write, the repository it may pull and the secrets it may read (so the service can check that
 * its image, log group and secrets are the ones the roles allow).
 */
export interface IServiceRoles {
  readonly taskRoleArn: string;
  readonly executionRoleArn: string;
  /** The container log group the execution role may write to. */
  readonly logGroupName: string;
  /** The repository the execution role may pull from. @default unknown (not checked) */
  readonly pullRepositoryArn?: string;
  /** The secrets (resource ARNs) the execution role may read. @default unknown (not checked) */
  readonly readableSecretArns?: readonly string[];
}

export interface ServiceRolesProps {
  /** Organisation name (`<org>` in role, repository and log group names). */
  readonly organization: string;
  /** Environment name. */
  readonly environment: string;
  /** Service name. */
  readonly serviceName: string;
  readonly accountId: string;
  readonly region: string;
  /**
   * The service's secrets (`valueFrom` ARNs of Secrets Manager secrets or SSM parameters): the only
   * secrets its execution role may read.
   * @default none
   */
  readonly secretArns?: readonly string[];
  /**
   * The repository the execution role may pull from.
   * @default `<organization>/<serviceName>` in this account and region (`repositoryName`)
   */
  readonly repository?: IServiceRepository;
}

/** Where the task role of a service with ECS Exec writes session logs, and the key it decrypts with. */
export interface ExecuteCommandGrant {
  /**
   * The cluster's ECS Exec log group, literal (the policy is literal JSON, docs/security.md 21):
   * `ecsExecLogGroupName(<cluster name>)`, the name `ServiceCluster` gives it.
   */
  readonly logGroupName: string;
  /**
   * The KMS key of the cluster's ECS Exec configuration, by literal ARN...
   * @default none: give `kmsKeyAlias`
   */
  readonly kmsKeyArn?: string;
  /**
   * ...or by an alias (without `alias/`) when the key lives in another stack: the task role may then
   * decrypt with whichever key of this account and region carries that alias (`kms:ResourceAliases`).
   * @default none: give `kmsKeyArn`
   */
  readonly kmsKeyAlias?: string;
}

/**
 * The two IAM roles of one ECS service, with deterministic names so the services stack passes them
 * by computed ARN and needs no IAM write rights:
 * - the task role (`<org>-<env>-<service>-task`), what the containers run as: no permissions by
 *   default; attach the application's own policies to it;
 * - the execution role (`<org>-<env>-<service>-exec`), what ECS uses to start the task: pull from the
 *   service's own repository, write to the service's own log group, read the service's own secrets.
 * Both trust only `ecs-tasks.amazonaws.com` acting for this account.
 */
export class ServiceRoles extends Construct implements IServiceRoles {
  /**
   * The literal handle of a service's roles created elsewhere (another stack) by a `ServiceRoles` with
   * the same props: names computed the same way, nothing created.
   */
  static fromNames(props: ServiceRolesProps): IServiceRoles {
    return rolesOf(props);
  }

  public readonly taskRoleName: string;
  public readonly taskRoleArn: string;
  public readonly executionRoleName: string;
  public readonly executionRoleArn: string;
  public readonly logGroupName: string;
  public readonly pullRepositoryArn: string;
  public readonly readableSecretArns: readonly string[];
  public readonly taskRole: IamRole;
  public readonly executionRole: IamRole;

  private readonly accountId: string;
  private readonly region: string;

  constructor(scope: Construct, id: string, props: ServiceRolesProps) {
    super(scope, id);
    const { environment: env, serviceName: service, accountId, region } = props;
    const partition = partitionOf(region);
    const problems = new FieldProblems();
    if (isKnown(accountId)) problems.addIf('accountId', accountIdProblem(accountId));
    if (isKnown(region)) problems.addIf('region', regionProblem(region));
    for (const arn of (props.secretArns ?? []).filter(isKnown)) {
      problems.check(
        isSecretArn(arn),
        'secretArns',
        `${JSON.stringify(arn)} is not a Secrets Manager secret ARN or an SSM parameter ARN`,
      );
    }
    throwProblems(this.node.path, problems.list);
    const names = rolesOf(props);
    const secrets = names.readableSecretArns;

    this.taskRoleName = taskRoleName(props.organization, env, service);
    this.executionRoleName = executionRoleName(props.organization, env, service);
    this.taskRoleArn = names.taskRoleArn;
    this.executionRoleArn = names.executionRoleArn;
    this.logGroupName = names.logGroupName;
    this.pullRepositoryArn = names.pullRepositoryArn;
    this.readableSecretArns = secrets;

    const trust = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'EcsTasksOfThisAccount',
          Effect: 'Allow',
          Principal: { Service: 'ecs-tasks.amazonaws.com' },
          Action: 'sts:AssumeRole',
          Condition: {
            StringEquals: { 'aws:SourceAccount': accountId },
            ArnLike: { 'aws:SourceArn': `arn:${partition}:ecs:${region}:${accountId}:*` },
          },
        },
      ],
    });

    this.accountId = accountId;
    this.region = region;
    this.taskRole = new IamRole(this, 'task', {
      name: this.taskRoleName,
      description: `Gantry ${env}: what the ${service} containers run as`,
      assumeRolePolicy: trust,
      maxSessionDuration: 3600,
    });
    this.executionRole = new IamRole(this, 'execution', {
      name: this.executionRoleName,
      description: `Gantry ${env}: ECS starts ${service} tasks with it (image pull, logs, own secrets)`,
      assumeRolePolicy: trust,
      maxSessionDuration: 3600,
    });

    const logGroup = logGroupArn(accountId, region, this.logGroupName);
    const statements: Record<string, unknown>[] = [
      {
        // GetAuthorizationToken has no resource-level permission: "*" is the only form AWS accepts.
        Sid: 'EcrLogin',
        Effect: 'Allow',
        Action: 'ecr:GetAuthorizationToken',
        Resource: '*',
      },
      {
        Sid: 'PullOwnImage',
        Effect: 'Allow',
        Action: [...ECR_PULL_ACTIONS],
        Resource: this.pullRepositoryArn,
      },
      {
        Sid: 'WriteOwnLogs',
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: `${logGroup}:log-stream:*`,
      },
    ];
    const secretsManager = secrets.filter((arn) => arn.split(':')[2] === 'secretsmanager');
    const parameters = secrets.filter((arn) => arn.split(':')[2] === 'ssm');
    if (secretsManager.length > 0) {
      statements.push({
        Sid: 'ReadOwnSecrets',
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        // A secret ARN given without its random 6-character suffix matches through `-??????`; a
        // full ARN cannot be told from a partial one, so both forms are listed.
        Resource: secretsManager.flatMap((arn) => [arn, `${arn}-??????`]),
      });
    }
    if (parameters.length > 0) {
      statements.push({
        Sid: 'ReadOwnParameters',
        Effect: 'Allow',
        Action: 'ssm:GetParameters',
        Resource: parameters,
      });
    }
    new IamRolePolicy(this, 'execution-policy', {
      name: 'ecs-task-execution',
      role: this.executionRole.name,
      policy: JSON.stringify({ Version: '2012-10-17', Statement: statements }),
    });
  }

  /**
   * What ECS Exec needs in the task role, as AWS's ECS Exec guide lists it: the SSM agent's four
   * `ssmmessages` channel actions and `logs:DescribeLogGroups` (neither names a resource, so `"*"`);
   * `CreateLogStream`, `DescribeLogStreams` and `PutLogEvents` on the ECS Exec log group only;
   * `kms:Decrypt` with the ECS Exec key only. The key is named by ARN, or by alias through
   * `kms:ResourceAliases` when it lives in another stack: the key policy hands the key to IAM
   * (account root), so this identity policy suffices, and the foundation stack that owns the role
   * needs no reference to the services stack's key. Call it once per service with ECS Exec.
   */
  public grantExecuteCommand(grant: ExecuteCommandGrant): void {
    const where = `${this.node.path}.grantExecuteCommand`;
    if ((grant.kmsKeyArn === undefined) === (grant.kmsKeyAlias === undefined)) {
      throw new GantryConfigError(
        `${where}: give the ECS Exec KMS key either by kmsKeyArn or by kmsKeyAlias (exactly one)`,
      );
    }
    const references = (['logGroupName', 'kmsKeyArn', 'kmsKeyAlias'] as const).filter((field) =>
      Token.isUnresolved(grant[field]),
    );
    if (references.length > 0) {
      throw new GantryConfigError(
        references.map(
          (field) =>
            `${where}.${field}: a reference was given; the policy is literal JSON (docs/security.md 21), so give the literal name (ecsExecLogGroupName(<cluster>), the key's alias)`,
        ),
      );
    }
    const alias = grant.kmsKeyAlias;
    const problems: string[] = [];
    if (!/^[A-Za-z0-9_./#-]{1,512}$/.test(grant.logGroupName)) {
      problems.push(
        `${where}.logGroupName: ${JSON.stringify(grant.logGroupName)} is not a log group name (1-512 of letters, digits, "_", "-", "/", ".", "#")`,
      );
    }
    if (
      grant.kmsKeyArn !== undefined &&
      !/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/.test(grant.kmsKeyArn)
    ) {
      problems.push(
        `${where}.kmsKeyArn: ${JSON.stringify(grant.kmsKeyArn)} is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)`,
      );
    }
    if (alias !== undefined && !/^(?!aws\/|alias\/)[A-Za-z0-9/_-]{1,250}$/.test(alias)) {
      problems.push(
        `${where}.kmsKeyAlias: ${JSON.stringify(alias)} is not a customer alias name without "alias/" (letters, digits, "/", "_", "-"; not "aws/...")`,
      );
    }
    if (problems.length > 0) throw new GantryConfigError(problems);
    const partition = partitionOf(this.region);
    const decrypt =
      alias === undefined
        ? { Resource: grant.kmsKeyArn }
        : {
            Resource: `arn:${partition}:kms:${this.region}:${this.accountId}:key/*`,
            Condition: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': `alias/${alias}` } },
          };
    new IamRolePolicy(this, 'task-ecs-exec-policy', {
      name: 'ecs-exec',
      role: this.taskRole.name,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
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
            Resource: `${logGroupArn(this.accountId, this.region, grant.logGroupName)}:*`,
          },
          { Sid: 'EcsExecDecryptSessions', Effect: 'Allow', Action: 'kms:Decrypt', ...decrypt },
        ],
      }),
    });
  }
}

/** The literal names and ARNs a `ServiceRoles` with these props has (or would have). */
function rolesOf(props: ServiceRolesProps): Required<IServiceRoles> {
  const { organization: org, environment: env, serviceName: service, accountId, region } = props;
  const repository =
    props.repository ??
    ServiceRepository.fromName({ accountId, region, repositoryName: repositoryName(org, service) });
  return {
    taskRoleArn: roleArn(accountId, region, taskRoleName(org, env, service)),
    executionRoleArn: roleArn(accountId, region, executionRoleName(org, env, service)),
    logGroupName: serviceLogGroupName(org, env, service),
    pullRepositoryArn: repository.repositoryArn,
    readableSecretArns: [...new Set((props.secretArns ?? []).map(secretResourceArn))].sort(),
  };
}
