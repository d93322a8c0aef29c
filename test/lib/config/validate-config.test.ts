import { referenceConfig } from '../../../environments';
import {
  getEnvironment,
  type EnvironmentConfig,
  type GantryConfig,
  type ServiceConfig,
} from '../../../lib/config';
import { GantryConfigError } from '../../../lib/core/errors';
import { problemsOf, withEnvironment } from '../../util';

function withService(
  envName: string,
  serviceName: string,
  change: (s: ServiceConfig) => ServiceConfig,
): GantryConfig {
  return withEnvironment(envName, (env) => ({
    ...env,
    services: env.services.map((s) => (s.name === serviceName ? change(s) : s)),
  }));
}

const prodWith = (change: (env: EnvironmentConfig) => EnvironmentConfig) => withEnvironment('prod', change);

describe('validateConfig', () => {
  test('accepts the reference configuration', () => {
    expect(problemsOf(referenceConfig)).toEqual([]);
  });

  test('rejects an account id that is not 12 digits', () => {
    expect(problemsOf(prodWith((e) => ({ ...e, accountId: '33333333333' })))).toEqual([
      'prod.accountId: "33333333333" is not a 12-digit AWS account id',
    ]);
  });

  test('rejects an environment name not matching ^[a-z][a-z0-9-]{1,30}$', () => {
    const problems = problemsOf(withEnvironment('dev', (e) => ({ ...e, name: 'Dev_1' })));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^Dev_1\.name: "Dev_1" must match \/\^\[a-z\]\[a-z0-9-\]\{1,30\}\$\//);
  });

  test('rejects duplicate environment names', () => {
    const config = {
      ...referenceConfig,
      environments: [...referenceConfig.environments, referenceConfig.environments[0]],
    };
    expect(problemsOf(config)).toEqual([
      'environments[3] (dev).name: duplicate environment name "dev", names must be unique',
    ]);
  });

  test('rejects duplicate service names', () => {
    const config = withEnvironment('staging', (e) => ({
      ...e,
      services: [...e.services, { ...e.services[3] }],
    }));
    expect(problemsOf(config)).toEqual([
      'staging.services[4].name: duplicate service name "worker", names must be unique in an environment',
    ]);
  });

  test('rejects more than 6 reviewers in a group', () => {
    const config = prodWith((e) => ({
      ...e,
      approval: {
        requiredApprovals: 1,
        reviewerGroups: [{ teams: ['a', 'b', 'c'], users: ['d', 'e', 'f', 'g'] }],
      },
    }));
    expect(problemsOf(config)).toEqual([
      'prod.approval.reviewerGroups[0]: 7 reviewers given, GitHub allows at most 6',
    ]);
  });

  test('rejects a production environment without a required approval', () => {
    const config = prodWith((e) => ({ ...e, approval: { requiredApprovals: 0 } }));
    expect(problemsOf(config)).toEqual([
      'prod.approval.requiredApprovals: 0 for production environment "prod"; require at least 1 approval, or set approval.optOut.reason (10+ characters) to say why not',
    ]);
  });

  test('accepts a production environment without approval when the opt-out gives a reason', () => {
    const config = prodWith((e) => ({
      ...e,
      approval: {
        requiredApprovals: 0,
        optOut: { reason: 'sandbox account, no customer data, approved by CISO' },
      },
    }));
    expect(problemsOf(config)).toEqual([]);
  });

  test('rejects an opt-out without a real reason', () => {
    const config = prodWith((e) => ({ ...e, approval: { requiredApprovals: 0, optOut: { reason: ' ' } } }));
    expect(problemsOf(config)).toHaveLength(1);
  });

  test('rejects an invalid region', () => {
    expect(problemsOf(prodWith((e) => ({ ...e, region: 'eu-west-9' })))).toEqual([
      'prod.region: "eu-west-9" is not an AWS region (e.g. "eu-west-1", "us-east-1")',
    ]);
  });

  test.each([0, 65536, 80.5])('rejects port %p outside 1..65535', (port) => {
    expect(problemsOf(withService('dev', 'api', (s) => ({ ...s, port })))).toEqual([
      `dev.services[0].port: ${port} is outside 1..65535`,
    ]);
  });

  test('rejects a cpu/memory pair Fargate does not accept', () => {
    expect(problemsOf(withService('dev', 'api', (s) => ({ ...s, cpu: 256, memoryMiB: 4096 })))).toEqual([
      'dev.services[0].memoryMiB: 4096 MiB is not accepted by Fargate with cpu 256 (allowed: 512, 1024, 2048)',
    ]);
  });

  test('rejects a cpu size Fargate does not have', () => {
    expect(problemsOf(withService('dev', 'api', (s) => ({ ...s, cpu: 300 }))).join('\n')).toMatch(
      /dev\.services\[0\]\.cpu: 300 is not a Fargate CPU size/,
    );
  });

  test('accepts every documented Fargate pair at the edges', () => {
    for (const [cpu, memoryMiB] of [
      [256, 512],
      [1024, 8192],
      [4096, 30720],
      [8192, 61440],
      [16384, 122880],
    ]) {
      expect(problemsOf(withService('dev', 'api', (s) => ({ ...s, cpu, memoryMiB })))).toEqual([]);
    }
  });

  test('rejects a health-check path not starting with /', () => {
    expect(problemsOf(withService('dev', 'api', (s) => ({ ...s, healthCheckPath: 'api/health' })))).toEqual([
      'dev.services[0].healthCheckPath: "api/health" must start with "/"',
    ]);
  });

  test('rejects the image tag latest', () => {
    expect(problemsOf(withService('prod', 'worker', (s) => ({ ...s, imageTag: 'latest' })))).toEqual([
      'prod.services[3].imageTag: "latest" is mutable and cannot be rolled back to; use an immutable release tag such as "v1.4.0"',
    ]);
  });

  test.each(['acme', 'acme/platform/x', 'acme/*', '*/platform', '/platform', 'acme/'])(
    'rejects repository %p not of the form owner/name',
    (repository) => {
      const config = {
        ...referenceConfig,
        organization: {
          ...referenceConfig.organization,
          github: { ...referenceConfig.organization.github, repository },
        },
      };
      const problems = problemsOf(config);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^organization\.github\.repository: .* is not of the form owner\/name/);
    },
  );

  test('rejects a worker with a health-check path', () => {
    expect(problemsOf(withService('dev', 'worker', (s) => ({ ...s, healthCheckPath: '/health' })))).toEqual([
      'dev.services[3].healthCheckPath: service "worker" has no port (a worker), so it cannot have a load-balancer health check',
    ]);
  });

  test('rejects fewer reviewer groups than required approvals', () => {
    const config = prodWith((e) => ({
      ...e,
      approval: { requiredApprovals: 2, reviewerGroups: [{ teams: ['sre'] }] },
    }));
    expect(problemsOf(config)).toEqual([
      'prod.approval.reviewerGroups: 1 group(s) given for 2 required approval(s); give one disjoint reviewer group per approval',
    ]);
  });

  test('rejects overlapping reviewer groups in an approval chain', () => {
    const config = prodWith((e) => ({
      ...e,
      approval: {
        requiredApprovals: 2,
        reviewerGroups: [{ teams: ['sre'] }, { teams: ['SRE'], users: ['alice'] }],
      },
    }));
    expect(problemsOf(config)).toEqual([
      'prod.approval.reviewerGroups[1]: team SRE is also in reviewerGroups[0]; reviewer groups of a chain must be disjoint',
    ]);
  });

  test('rejects the id subject format without numeric ids', () => {
    const github = { repository: 'acme/platform', defaultBranch: 'main', subjectFormat: 'id' as const };
    const problems = problemsOf({
      ...referenceConfig,
      organization: { ...referenceConfig.organization, github },
    });
    expect(problems).toEqual([
      'organization.github.subjectFormat: "id" needs organization.github.ownerId and organization.github.repositoryId',
    ]);
  });

  test('reports every problem at once', () => {
    const config = withEnvironment('dev', (e) => ({ ...e, accountId: '1', region: 'mars-1' }));
    expect(problemsOf(config)).toHaveLength(2);
  });

  test('rejects duplicate listener rule priorities', () => {
    expect(
      problemsOf(withService('dev', 'admin', (s) => ({ ...s, routing: { ...s.routing!, priority: 100 } }))),
    ).toEqual([
      'dev.services[1].routing.priority: 100 is already used by service "api", listener rule priorities must be unique',
    ]);
  });
});

describe('validateConfig: deployment branches and runners', () => {
  test('rejects an empty deployment branch policy', () => {
    expect(
      problemsOf(withEnvironment('dev', (e) => ({ ...e, deploymentBranches: { branches: [] } }))),
    ).toEqual([
      'dev.deploymentBranches: no branch or tag pattern given; name at least one (e.g. branches: ["main"]) or use { protectedBranches: true }: without one any branch could deploy',
    ]);
  });

  test('rejects a deployment branch pattern that matches every ref', () => {
    expect(
      problemsOf(withEnvironment('dev', (e) => ({ ...e, deploymentBranches: { branches: ['*'] } }))),
    ).toEqual(['dev.deploymentBranches: "*" matches every ref; name the branches or tags']);
  });

  test('rejects a runner connection that is not a CodeConnections ARN', () => {
    const config = withEnvironment('dev', (e) => ({
      ...e,
      runners: {
        ...e.runners,
        githubActions: { ...e.runners!.githubActions!, connectionArn: 'arn:aws:iam::111111111111:role/x' },
      },
    }));
    expect(problemsOf(config)).toEqual([
      'dev.runners.githubActions.connectionArn: "arn:aws:iam::111111111111:role/x" is not a CodeConnections ARN (arn:aws:codeconnections:<region>:<account>:connection/<id>)',
    ]);
  });

  test('a runner names the workflows and the actors whose jobs it runs', () => {
    const config = withEnvironment('dev', (e) => ({
      ...e,
      runners: {
        ...e.runners,
        githubActions: { ...e.runners!.githubActions!, workflowNames: [], actorIds: [0] },
      },
    }));
    expect(problemsOf(config)).toEqual([
      'dev.runners.githubActions.workflowNames: not given; name the workflows whose jobs may run on the runner (a runner open to every workflow runs any job any branch adds, with its role)',
      'dev.runners.githubActions.actorIds: 0 is not a GitHub user id',
    ]);
  });

  test('rejects a literal ledger URL without echoing it', () => {
    const config = withEnvironment('prod', (e) => ({
      ...e,
      runners: {
        deploy: { ...e.runners!.deploy!, ledgerUrlSecretArn: 'postgres://admin:hunter2@db/ledger' },
      },
    }));
    const problems = problemsOf(config);
    expect(problems).toEqual([
      'prod.runners.deploy.ledgerUrlSecretArn: is not a Secrets Manager secret ARN or SSM parameter ARN; the ledger URL is read at build time, never given as a literal',
    ]);
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  test("rejects a deploy project cosign other than 'install' or 'image', naming the allowed ones", () => {
    const withCosign = (cosign: unknown) =>
      withEnvironment('staging', (e) => ({
        ...e,
        runners: { deploy: { ...e.runners!.deploy!, cosign: cosign as 'install' } },
      }));
    expect(problemsOf(withCosign('curl'))).toEqual([
      `staging.runners.deploy.cosign: "curl" is not one of "install", "image" ('install': the build downloads the pinned cosign and checks its SHA-256; 'image': the build image's own cosign)`,
    ]);
    expect(problemsOf(withCosign('image'))).toEqual([]);
    expect(problemsOf(withCosign('install'))).toEqual([]);
  });

  test('requires the GitHub token secret of a deploy project when 2 or more approvals are required', () => {
    const withoutToken = withEnvironment('prod', (e) => ({
      ...e,
      runners: { deploy: { ...e.runners!.deploy!, githubTokenSecretArn: undefined } },
    }));
    expect(problemsOf(withoutToken)).toEqual([
      'prod.runners.deploy.githubTokenSecretArn: not given, but prod requires 2 approvals: the deploy build verifies them on the GitHub run that started it, ' +
        "with a token that can read the repository's Actions runs; give its Secrets Manager ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)",
    ]);
    // One approval is GitHub's own rule: no token needed.
    const oneApproval = withEnvironment('prod', (e) => ({
      ...e,
      approval: { requiredApprovals: 1, reviewerGroups: [{ teams: ['sre'] }] },
      runners: { deploy: { ...e.runners!.deploy!, githubTokenSecretArn: undefined } },
    }));
    expect(problemsOf(oneApproval)).toEqual([]);
  });

  test('rejects a GitHub token secret that is not a Secrets Manager ARN, never echoing a literal', () => {
    const withToken = (githubTokenSecretArn: string) =>
      withEnvironment('prod', (e) => ({
        ...e,
        runners: { deploy: { ...e.runners!.deploy!, githubTokenSecretArn } },
      }));
    const ssm = 'arn:aws:ssm:eu-west-1:333333333333:parameter/acme/prod/github-token';
    expect(problemsOf(withToken(ssm))).toEqual([
      `prod.runners.deploy.githubTokenSecretArn: "${ssm}" is not a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>); the token is read at build time, never given as a literal`,
    ]);
    const literal = problemsOf(withToken('ghp_0123456789abcdef'));
    expect(literal).toEqual([
      'prod.runners.deploy.githubTokenSecretArn: (value not shown) is not a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>); the token is read at build time, never given as a literal',
    ]);
  });

  test('rejects a deploy timeout outside CodeBuild limits and privileged mode without a reason', () => {
    const config = withEnvironment('dev', (e) => ({
      ...e,
      runners: {
        githubActions: { ...e.runners!.githubActions!, privileged: { reason: 'docker' } },
        deploy: { ...e.runners!.deploy!, timeoutMinutes: 3000 },
      },
    }));
    expect(problemsOf(config)).toEqual([
      'dev.runners.githubActions.privileged.reason: "docker": privileged mode needs a reason of at least 10 characters (e.g. "builds container images with docker")',
      "dev.runners.deploy.timeoutMinutes: 3000 must be an integer from 5 to 2160 (CodeBuild's limits)",
    ]);
  });
});

describe('getEnvironment', () => {
  test('finds a configured environment', () => {
    expect(getEnvironment('staging', referenceConfig).accountId).toBe('222222222222');
  });

  test('throws naming the allowed environments', () => {
    expect(() => getEnvironment('qa', referenceConfig)).toThrow(GantryConfigError);
    expect(() => getEnvironment('qa', referenceConfig)).toThrow(
      'environment: "qa" is not configured, allowed: "dev", "staging", "prod"',
    );
  });
});

describe('validateConfig: identifiers and backends, one line each naming the field', () => {
  test('a misspelt region', () => {
    expect(problemsOf(withEnvironment('dev', (e) => ({ ...e, region: 'eu-wst-1' })))).toEqual([
      'dev.region: "eu-wst-1" is not an AWS region (e.g. "eu-west-1", "us-east-1")',
    ]);
  });

  test('a subnet id that is not one, and a malformed VPC id', () => {
    const config = withEnvironment('dev', (e) => ({
      ...e,
      network: { vpcId: 'vpc-bad', privateSubnetIds: ['subnet-bad'] },
    }));
    expect(problemsOf(config)).toEqual([
      'dev.network.vpcId: "vpc-bad" is not a VPC id (vpc-0123456789abcdef0)',
      'dev.network.privateSubnetIds: "subnet-bad" is not a subnet id (subnet-0123456789abcdef0)',
    ]);
  });

  test('a short account id is one line, not a policy error', () => {
    expect(problemsOf(withEnvironment('dev', (e) => ({ ...e, accountId: '12345' })))).toEqual([
      'dev.accountId: "12345" is not a 12-digit AWS account id',
    ]);
  });

  test('the github stack backend is checked like an environment backend', () => {
    const config: GantryConfig = {
      ...referenceConfig,
      organization: {
        ...referenceConfig.organization,
        githubStateBackend: {
          bucket: 'Acme_State',
          region: 'eu-wst-1',
          keyPrefix: '/gantry',
          kmsKeyId: 'my-key',
        },
      },
    };
    expect(problemsOf(config)).toEqual([
      "organization.githubStateBackend.bucket: \"Acme_State\" is not an S3 bucket name (3-63 lower-case letters, digits, '.' and '-')",
      'organization.githubStateBackend.region: "eu-wst-1" is not an AWS region (e.g. "eu-west-1", "us-east-1")',
      'organization.githubStateBackend.keyPrefix: "/gantry" must be empty or end with "/" (e.g. "gantry/"), without a leading "/" or spaces',
      'organization.githubStateBackend.kmsKeyId: "my-key" is not a KMS key ARN, key id or alias/<name>',
    ]);
  });

  test('an existing listener and security group of the wrong shape', () => {
    const config = withEnvironment('prod', (e) => ({
      ...e,
      loadBalancer: { listenerArn: 'arn:aws:iam::333333333333:role/x', securityGroupId: 'sg-x' },
    }));
    expect(problemsOf(config)).toEqual([
      'prod.loadBalancer.listenerArn: "arn:aws:iam::333333333333:role/x" is not an ALB listener ARN (arn:aws:elasticloadbalancing:<region>:<account>:listener/app/<name>/<id>/<id>)',
      'prod.loadBalancer.securityGroupId: "sg-x" is not a security group id (sg-0123456789abcdef0)',
    ]);
  });
});
