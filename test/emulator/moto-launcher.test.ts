/**
 * The test tooling itself: `moto_launcher.py` refuses a moto it was not written for, and the server it
 * starts answers the calls stock moto 5.2.1 lacks or gets wrong, as AWS does. The reference-stack
 * suite exercises the create paths through Terraform; this suite pins each patch, including the
 * update and delete paths a clean apply never takes.
 */
import {
  ApplicationAutoScalingClient,
  ListTagsForResourceCommand,
  RegisterScalableTargetCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-application-auto-scaling';
import {
  BatchGetProjectsCommand,
  CodeBuildClient,
  CreateProjectCommand,
  CreateWebhookCommand,
  DeleteWebhookCommand,
  UpdateProjectCommand,
  UpdateWebhookCommand,
} from '@aws-sdk/client-codebuild';
import {
  CreateVpcCommand,
  CreateSubnetCommand,
  CreateSecurityGroupCommand,
  EC2Client,
  ModifyVpcAttributeCommand,
} from '@aws-sdk/client-ec2';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { CreateRoleCommand, GetRoleCommand, IAMClient, UpdateRoleCommand } from '@aws-sdk/client-iam';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../runtime/helpers';
import { describeWithEmulator, MOTO_VERSION, MotoServer } from './harness';
import { clientConfig } from './seed';

const LAUNCHER = path.join(__dirname, 'moto_launcher.py');
const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';

function launcher(args: readonly string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync('python3', [LAUNCHER, ...args], { encoding: 'utf8', env, timeout: 60_000 });
}

describeWithEmulator('moto_launcher.py', () => {
  test('refuses a moto of another version and says what to do', () => {
    const fake = tempDir('fake-moto');
    fs.mkdirSync(path.join(fake, 'moto'));
    fs.writeFileSync(path.join(fake, 'moto', '__init__.py'), '__version__ = "9.9.9"\n');
    const result = launcher(['--port', '45999', '--account-id', ACCOUNT], {
      ...process.env,
      PYTHONPATH: fake,
    });
    fs.rmSync(fake, { recursive: true, force: true });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`moto 9.9.9 is installed, but ${LAUNCHER} patches moto ${MOTO_VERSION}`);
    expect(result.stderr).toContain(`pip install 'moto[server]==${MOTO_VERSION}'`);
    expect(result.stderr).toContain('bump MOTO_VERSION here and in .ci/run');
  });

  test('--check applies every patch to the installed moto and names them', () => {
    const result = launcher(['--check']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(`^gantry-moto: moto ${MOTO_VERSION.replace(/\./g, '\\.')}, \\d+ patches apply:`),
    );
    for (const service of [
      'CodeBuild',
      'Application Auto Scaling',
      'ECS CreateService',
      'ECS UpdateService',
      'ECS RunTask',
      'IAM UpdateRole',
    ])
      expect(result.stdout).toContain(`  - ${service}`);
  });

  test('refuses an account id that is not 12 digits', () => {
    const result = launcher(['--port', '45999', '--account-id', '1234']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("--account-id: '1234' is not a 12-digit AWS account id");
  });

  describe('the patched server', () => {
    let server: MotoServer;
    beforeAll(async () => {
      server = await MotoServer.start(ACCOUNT);
    }, 60_000);
    afterAll(() => server?.stop());

    const config = () => clientConfig(server, REGION);

    test('CodeBuild keeps encryptionKey and concurrentBuildLimit, updates projects, and manages webhooks', async () => {
      const codebuild = new CodeBuildClient(config());
      try {
        const key = `arn:aws:kms:${REGION}:${ACCOUNT}:key/0a1d0000-0000-4000-8000-000000000001`;
        await codebuild.send(
          new CreateProjectCommand({
            name: 'runner',
            source: { type: 'GITHUB', location: 'https://github.com/acme/platform.git' },
            artifacts: { type: 'NO_ARTIFACTS' },
            environment: {
              type: 'LINUX_CONTAINER',
              image: 'aws/codebuild/standard:7.0',
              computeType: 'BUILD_GENERAL1_SMALL',
            },
            serviceRole: `arn:aws:iam::${ACCOUNT}:role/runner`,
            encryptionKey: key,
            concurrentBuildLimit: 1,
          }),
        );
        const project = async () =>
          (await codebuild.send(new BatchGetProjectsCommand({ names: ['runner'] }))).projects?.[0];
        expect(await project()).toMatchObject({ encryptionKey: key, concurrentBuildLimit: 1 });

        await codebuild.send(
          new UpdateProjectCommand({ name: 'runner', timeoutInMinutes: 30, description: 'runs jobs' }),
        );
        expect(await project()).toMatchObject({
          timeoutInMinutes: 30,
          description: 'runs jobs',
          encryptionKey: key,
          concurrentBuildLimit: 1,
        });

        const queued = [[{ type: 'EVENT' as const, pattern: 'WORKFLOW_JOB_QUEUED' }]];
        const created = await codebuild.send(
          new CreateWebhookCommand({ projectName: 'runner', buildType: 'BUILD', filterGroups: queued }),
        );
        expect(created.webhook).toMatchObject({
          buildType: 'BUILD',
          filterGroups: queued,
          manualCreation: false,
        });
        expect(created.webhook?.secret).toMatch(/^[0-9a-f]{32}$/);
        // Read back with the project, without the secret, as in AWS.
        const stored = (await project())?.webhook;
        expect(stored).toMatchObject({ filterGroups: queued, url: created.webhook?.url });
        expect(stored?.secret).toBeUndefined();
        await expect(codebuild.send(new CreateWebhookCommand({ projectName: 'runner' }))).rejects.toThrow(
          /already exists/,
        );

        const pushes = [[{ type: 'EVENT' as const, pattern: 'PUSH' }]];
        await codebuild.send(new UpdateWebhookCommand({ projectName: 'runner', filterGroups: pushes }));
        expect((await project())?.webhook?.filterGroups).toEqual(pushes);
        await codebuild.send(new DeleteWebhookCommand({ projectName: 'runner' }));
        expect((await project())?.webhook).toBeUndefined();
        await expect(codebuild.send(new DeleteWebhookCommand({ projectName: 'runner' }))).rejects.toThrow(
          /not found/i,
        );
        await expect(codebuild.send(new UpdateProjectCommand({ name: 'missing' }))).rejects.toThrow(
          /cannot be found/,
        );
      } finally {
        codebuild.destroy();
      }
    });

    test('ECS keeps what CreateService is given, and Application Auto Scaling tags its targets', async () => {
      const ec2 = new EC2Client(config());
      const ecs = new ECSClient(config());
      const scaling = new ApplicationAutoScalingClient(config());
      try {
        const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.9.0.0/16' }));
        const subnet = await ec2.send(
          new CreateSubnetCommand({
            VpcId: vpc.Vpc?.VpcId,
            CidrBlock: '10.9.1.0/24',
            AvailabilityZone: `${REGION}a`,
          }),
        );
        const group = await ec2.send(
          new CreateSecurityGroupCommand({ GroupName: 'tasks', Description: 'tasks', VpcId: vpc.Vpc?.VpcId }),
        );
        await ecs.send(new CreateClusterCommand({ clusterName: 'acme-test' }));
        await ecs.send(
          new RegisterTaskDefinitionCommand({
            family: 'acme-test-api',
            requiresCompatibilities: ['FARGATE'],
            networkMode: 'awsvpc',
            cpu: '256',
            memory: '512',
            containerDefinitions: [{ name: 'api', image: 'api:v1', essential: true }],
          }),
        );
        const deploymentConfiguration = {
          deploymentCircuitBreaker: { enable: true, rollback: true },
          alarms: { alarmNames: ['acme-test-api-5xx-rate'], enable: true, rollback: true },
          maximumPercent: 200,
          minimumHealthyPercent: 100,
        };
        await ecs.send(
          new CreateServiceCommand({
            cluster: 'acme-test',
            serviceName: 'api',
            taskDefinition: 'acme-test-api',
            desiredCount: 1,
            launchType: 'FARGATE',
            networkConfiguration: {
              awsvpcConfiguration: {
                subnets: [subnet.Subnet?.SubnetId as string],
                securityGroups: [group.GroupId as string],
                assignPublicIp: 'DISABLED',
              },
            },
            enableECSManagedTags: true,
            healthCheckGracePeriodSeconds: 60,
            deploymentConfiguration,
            enableExecuteCommand: false,
            availabilityZoneRebalancing: 'DISABLED',
          }),
        );
        const described = async () =>
          (await ecs.send(new DescribeServicesCommand({ cluster: 'acme-test', services: ['api'] })))
            .services?.[0];
        expect(await described()).toMatchObject({
          enableECSManagedTags: true,
          healthCheckGracePeriodSeconds: 60,
          deploymentConfiguration,
          enableExecuteCommand: false,
          availabilityZoneRebalancing: 'DISABLED',
        });
        // Stock UpdateService already sets what it is given; the patch must not have broken it.
        await ecs.send(
          new UpdateServiceCommand({
            cluster: 'acme-test',
            service: 'api',
            healthCheckGracePeriodSeconds: 300,
          }),
        );
        expect(await described()).toMatchObject({
          healthCheckGracePeriodSeconds: 300,
          enableECSManagedTags: true,
        });

        const target = {
          ServiceNamespace: 'ecs' as const,
          ResourceId: 'service/acme-test/api',
          ScalableDimension: 'ecs:service:DesiredCount' as const,
        };
        const { ScalableTargetARN: arn } = await scaling.send(
          new RegisterScalableTargetCommand({
            ...target,
            MinCapacity: 1,
            MaxCapacity: 4,
            Tags: { environment: 'test' },
          }),
        );
        const tags = async () =>
          (await scaling.send(new ListTagsForResourceCommand({ ResourceARN: arn }))).Tags;
        expect(await tags()).toEqual({ environment: 'test' });
        await scaling.send(new TagResourceCommand({ ResourceARN: arn, Tags: { owner: 'platform' } }));
        await scaling.send(new UntagResourceCommand({ ResourceARN: arn, TagKeys: ['environment'] }));
        expect(await tags()).toEqual({ owner: 'platform' });
        // Registering the target again updates its capacity, not its tags.
        await scaling.send(
          new RegisterScalableTargetCommand({ ...target, MaxCapacity: 6, Tags: { other: 'x' } }),
        );
        expect(await tags()).toEqual({ owner: 'platform' });
        await expect(
          scaling.send(new ListTagsForResourceCommand({ ResourceARN: `${arn}-unknown` })),
        ).rejects.toThrow(/No scalable target/);
      } finally {
        ec2.destroy();
        ecs.destroy();
        scaling.destroy();
      }
    });

    test('ECS plays rollouts and one-off tasks, and their failures by fault tag', async () => {
      const ec2 = new EC2Client(config());
      const ecs = new ECSClient(config());
      try {
        const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.8.0.0/16' }));
        const VpcId = vpc.Vpc?.VpcId as string;
        // A task's network interface needs DNS hostnames in moto, as most ECS VPCs have.
        await ec2.send(new ModifyVpcAttributeCommand({ VpcId, EnableDnsHostnames: { Value: true } }));
        const subnet = await ec2.send(
          new CreateSubnetCommand({ VpcId, CidrBlock: '10.8.1.0/24', AvailabilityZone: `${REGION}a` }),
        );
        const group = await ec2.send(
          new CreateSecurityGroupCommand({ GroupName: 'rollout', Description: 'rollout', VpcId }),
        );
        const awsvpcConfiguration = {
          subnets: [subnet.Subnet?.SubnetId as string],
          securityGroups: [group.GroupId as string],
        };
        await ecs.send(new CreateClusterCommand({ clusterName: 'acme-rollout' }));
        // As Gantry registers them: cpu and memory at the task level only.
        const register = async (family: string, tag: string) =>
          (
            await ecs.send(
              new RegisterTaskDefinitionCommand({
                family,
                requiresCompatibilities: ['FARGATE'],
                networkMode: 'awsvpc',
                cpu: '256',
                memory: '512',
                containerDefinitions: [
                  { name: 'api', image: `111111111111.dkr.ecr.${REGION}.amazonaws.com/api:${tag}` },
                ],
              }),
            )
          ).taskDefinition?.taskDefinitionArn as string;
        const first = await register('acme-rollout-api', 'v1');
        await ecs.send(
          new CreateServiceCommand({
            cluster: 'acme-rollout',
            serviceName: 'api',
            taskDefinition: first,
            desiredCount: 2,
            launchType: 'FARGATE',
            networkConfiguration: { awsvpcConfiguration },
          }),
        );
        const deployments = async () => {
          const service = (
            await ecs.send(new DescribeServicesCommand({ cluster: 'acme-rollout', services: ['api'] }))
          ).services?.[0];
          return {
            taskDefinition: service?.taskDefinition,
            deployments: service?.deployments?.map((d) => ({
              status: d.status,
              taskDefinition: d.taskDefinition,
              rolloutState: d.rolloutState,
              running: d.runningCount,
              failed: d.failedTasks,
            })),
          };
        };
        const update = (taskDefinition: string) =>
          ecs.send(new UpdateServiceCommand({ cluster: 'acme-rollout', service: 'api', taskDefinition }));

        const second = await register('acme-rollout-api', 'v2');
        await update(second);
        expect(await deployments()).toEqual({
          taskDefinition: second,
          deployments: [
            { status: 'PRIMARY', taskDefinition: second, rolloutState: 'COMPLETED', running: 2, failed: 0 },
          ],
        });
        // Updating to the task definition that already runs starts nothing.
        await update(second);
        expect((await deployments()).deployments).toHaveLength(1);

        const broken = await register('acme-rollout-api', 'v3-emulator-rollout-fails');
        await update(broken);
        expect(await deployments()).toEqual({
          taskDefinition: second,
          deployments: [
            { status: 'PRIMARY', taskDefinition: second, rolloutState: 'COMPLETED', running: 2, failed: 0 },
            { status: 'ACTIVE', taskDefinition: broken, rolloutState: 'FAILED', running: 0, failed: 2 },
          ],
        });

        const exitOf = async (tag: string) => {
          const family = await register(`acme-rollout-api-migrate-${tag.length}`, tag);
          const started = await ecs.send(
            new RunTaskCommand({
              cluster: 'acme-rollout',
              taskDefinition: family,
              launchType: 'FARGATE',
              networkConfiguration: { awsvpcConfiguration },
            }),
          );
          const taskArn = started.tasks?.[0]?.taskArn as string;
          const seen: string[] = [];
          for (let i = 0; i < 6; i++) {
            const task = (
              await ecs.send(new DescribeTasksCommand({ cluster: 'acme-rollout', tasks: [taskArn] }))
            ).tasks?.[0];
            seen.push(task?.lastStatus as string);
            if (task?.lastStatus === 'STOPPED') return { seen, exitCode: task.containers?.[0]?.exitCode };
          }
          return { seen, exitCode: undefined };
        };
        expect(await exitOf('v2')).toEqual({
          seen: ['DEACTIVATING', 'STOPPING', 'DEPROVISIONING', 'STOPPED'],
          exitCode: 0,
        });
        expect((await exitOf('v3-emulator-migration-exits-1')).exitCode).toBe(1);
      } finally {
        ec2.destroy();
        ecs.destroy();
      }
    });

    test('IAM UpdateRole changes only what it is given', async () => {
      const iam = new IAMClient(config());
      try {
        await iam.send(
          new CreateRoleCommand({
            RoleName: 'acme-test-apply',
            AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [] }),
            Description: 'Gantry apply role',
            MaxSessionDuration: 3600,
          }),
        );
        const role = async () => (await iam.send(new GetRoleCommand({ RoleName: 'acme-test-apply' }))).Role;
        await iam.send(new UpdateRoleCommand({ RoleName: 'acme-test-apply', MaxSessionDuration: 7200 }));
        expect(await role()).toMatchObject({ Description: 'Gantry apply role', MaxSessionDuration: 7200 });
        await iam.send(new UpdateRoleCommand({ RoleName: 'acme-test-apply', Description: 'renamed' }));
        expect(await role()).toMatchObject({ Description: 'renamed', MaxSessionDuration: 7200 });
      } finally {
        iam.destroy();
      }
    });
  });
});
