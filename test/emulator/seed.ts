/**
 * What an environment's account holds before Gantry's stacks are applied, created in the emulator
 * with the AWS SDK, and the test configuration whose ids are those of the seeded resources:
 * - the network: a VPC, private subnets (one per reference subnet) and two public subnets, each set
 *   spread over distinct Availability Zones;
 * - the load balancer: its security group, an internet-facing ALB in the public subnets and an HTTPS
 *   listener with a self-signed certificate made here (openssl) and imported into ACM;
 * - every Secrets Manager secret the environment names (services' `secrets`, the deploy project's
 *   ledger URL and GitHub token), found by walking the configuration;
 * - the Cognito user pools, clients and domains the services authenticate with;
 * - once a foundation stack created its ECR repositories, the images a deploy looks up by tag
 *   (`pushImages`: a manifest per tag, whose digest moto computes).
 *
 * The CodeConnections connections stay as configured: moto 5.2.1 has no CodeConnections API, and the
 * provider only passes the ARN to CodeBuild, which does not look it up.
 */
import { ACMClient, ImportCertificateCommand } from '@aws-sdk/client-acm';
import {
  CognitoIdentityProviderClient,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  CreateUserPoolDomainCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  ModifyVpcAttributeCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { ECRClient, PutImageCommand } from '@aws-sdk/client-ecr';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
// Config types: from environments/ until they move to lib/config/ (the only import of them here).
import type { EnvironmentConfig, GantryConfig, ServiceConfig } from '../../lib/config';

/** What an SDK client needs to talk to one emulated account. */
export interface EmulatorEndpoint {
  readonly endpoint: string;
  readonly accountId: string;
}

/** Dummy credentials: moto checks none, and no real key may ever reach a test. */
export const EMULATOR_CREDENTIALS = {
  accessKeyId: 'AKIAGANTRYEMULATOR00',
  secretAccessKey: 'gantry-emulator-not-a-secret',
};

/** Options for every AWS SDK client of the tests: the emulator's endpoint, dummy keys, few retries. */
export function clientConfig(target: EmulatorEndpoint, region: string) {
  return { region, endpoint: target.endpoint, credentials: EMULATOR_CREDENTIALS, maxAttempts: 3 };
}

/** The ids of what was seeded in one environment's account. */
export interface SeededEnvironment {
  readonly vpcId: string;
  readonly privateSubnetIds: readonly string[];
  readonly publicSubnetIds: readonly string[];
  readonly loadBalancerSecurityGroupId: string;
  readonly loadBalancerArn: string;
  readonly listenerArn: string;
  readonly certificateArn: string;
  /** Secret ARN as configured -> ARN of the seeded secret. */
  readonly secretArns: ReadonlyMap<string, string>;
  /** User pool ARN as configured -> the seeded pool, client and domain. */
  readonly userPools: ReadonlyMap<string, SeededUserPool>;
}

export interface SeededUserPool {
  readonly userPoolArn: string;
  readonly userPoolClientId: string;
  readonly userPoolDomain: string;
}

/** Creates the pre-existing resources `env` refers to in the emulated account `target`. */
export async function seedEnvironment(
  target: EmulatorEndpoint,
  env: EnvironmentConfig,
): Promise<SeededEnvironment> {
  if (target.accountId !== env.accountId) {
    throw new Error(`seed ${env.name}: the emulator is account ${target.accountId}, not ${env.accountId}`);
  }
  const config = clientConfig(target, env.region);
  const ec2 = new EC2Client(config);
  const elb = new ElasticLoadBalancingV2Client(config);
  const acm = new ACMClient(config);
  try {
    const zones = ['a', 'b', 'c'].map((z) => `${env.region}${z}`);
    const privateCount = 'fromSsm' in env.network ? 3 : env.network.privateSubnetIds.length;
    const vpc = await ec2.send(
      new CreateVpcCommand({ CidrBlock: '10.20.0.0/16', TagSpecifications: nameTag('vpc', `${env.name}`) }),
    );
    const vpcId = required(vpc.Vpc?.VpcId, 'CreateVpc VpcId');
    // As most VPCs that run ECS have it; moto needs it for a task's network interface (RunTask).
    await ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpcId, EnableDnsHostnames: { Value: true } }));
    const subnet = async (index: number, kind: 'private' | 'public') => {
      const made = await ec2.send(
        new CreateSubnetCommand({
          VpcId: vpcId,
          CidrBlock: `10.20.${kind === 'private' ? index : 100 + index}.0/24`,
          AvailabilityZone: zones[index % zones.length],
          TagSpecifications: nameTag('subnet', `${env.name}-${kind}-${index}`),
        }),
      );
      return required(made.Subnet?.SubnetId, 'CreateSubnet SubnetId');
    };
    const privateSubnetIds = await Promise.all(
      Array.from({ length: privateCount }, (_, i) => subnet(i, 'private')),
    );
    const publicSubnetIds = await Promise.all([0, 1].map((i) => subnet(i, 'public')));

    const group = await ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: `${env.name}-load-balancer`,
        Description: `${env.name} load balancer (seeded by the emulator tests)`,
        VpcId: vpcId,
      }),
    );
    const loadBalancerSecurityGroupId = required(group.GroupId, 'CreateSecurityGroup GroupId');
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: loadBalancerSecurityGroupId,
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
        ],
      }),
    );

    const certificate = selfSignedCertificate(`*.${env.name}.acme.example`);
    const imported = await acm.send(
      new ImportCertificateCommand({
        Certificate: Buffer.from(certificate.certificate),
        PrivateKey: Buffer.from(certificate.privateKey),
      }),
    );
    const certificateArn = required(imported.CertificateArn, 'ImportCertificate CertificateArn');
    const lb = await elb.send(
      new CreateLoadBalancerCommand({
        Name: `seeded-${env.name}`,
        Type: 'application',
        Scheme: 'internet-facing',
        Subnets: publicSubnetIds,
        SecurityGroups: [loadBalancerSecurityGroupId],
      }),
    );
    const loadBalancerArn = required(lb.LoadBalancers?.[0]?.LoadBalancerArn, 'CreateLoadBalancer ARN');
    const listener = await elb.send(
      new CreateListenerCommand({
        LoadBalancerArn: loadBalancerArn,
        Protocol: 'HTTPS',
        Port: 443,
        SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
        Certificates: [{ CertificateArn: certificateArn }],
        DefaultActions: [
          {
            Type: 'fixed-response',
            FixedResponseConfig: { StatusCode: '404', ContentType: 'text/plain', MessageBody: 'not found' },
          },
        ],
      }),
    );
    const listenerArn = required(listener.Listeners?.[0]?.ListenerArn, 'CreateListener ARN');

    return {
      vpcId,
      privateSubnetIds,
      publicSubnetIds,
      loadBalancerSecurityGroupId,
      loadBalancerArn,
      listenerArn,
      certificateArn,
      secretArns: await seedSecrets(target, env),
      userPools: await seedUserPools(target, env),
    };
  } finally {
    ec2.destroy();
    elb.destroy();
    acm.destroy();
  }
}

/**
 * Puts an image under each of `tags` in the emulator's ECR repository `repositoryName` (PutImage, as a
 * push ends): a Docker image manifest whose one layer is named after the repository and the tag, so
 * each tag is an image of its own. moto computes the digest (from the layers' digests); returns it by tag.
 */
export async function pushImages(
  target: EmulatorEndpoint,
  region: string,
  repositoryName: string,
  tags: readonly string[],
): Promise<Map<string, string>> {
  const ecr = new ECRClient(clientConfig(target, region));
  const sha256 = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;
  try {
    const digests = new Map<string, string>();
    for (const tag of tags) {
      const manifest = {
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: {
          mediaType: 'application/vnd.docker.container.image.v1+json',
          size: 2,
          digest: sha256(`config ${repositoryName}:${tag}`),
        },
        layers: [
          {
            mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
            size: 32,
            digest: sha256(`layer ${repositoryName}:${tag}`),
          },
        ],
      };
      const put = await ecr.send(
        new PutImageCommand({ repositoryName, imageTag: tag, imageManifest: JSON.stringify(manifest) }),
      );
      digests.set(tag, required(put.image?.imageId?.imageDigest, 'PutImage imageDigest'));
    }
    return digests;
  } finally {
    ecr.destroy();
  }
}

/** The Secrets Manager ARNs an environment names. */
export function secretArnsOf(env: EnvironmentConfig): string[] {
  const deploy = env.runners?.deploy;
  const arns = [
    ...env.services.flatMap((s) => Object.values(s.secrets ?? {})),
    deploy?.ledgerUrlSecretArn,
    deploy?.githubTokenSecretArn,
  ].filter((arn): arn is string => arn !== undefined && arn.includes(':secretsmanager:'));
  return [...new Set(arns)];
}

async function seedSecrets(target: EmulatorEndpoint, env: EnvironmentConfig): Promise<Map<string, string>> {
  const secrets = new SecretsManagerClient(clientConfig(target, env.region));
  try {
    const seeded = new Map<string, string>();
    for (const configured of secretArnsOf(env)) {
      const name = configured.slice(configured.indexOf(':secret:') + ':secret:'.length);
      const made = await secrets.send(
        new CreateSecretCommand({ Name: name, SecretString: `seeded value of ${name}` }),
      );
      seeded.set(configured, required(made.ARN, 'CreateSecret ARN'));
    }
    return seeded;
  } finally {
    secrets.destroy();
  }
}

async function seedUserPools(
  target: EmulatorEndpoint,
  env: EnvironmentConfig,
): Promise<Map<string, SeededUserPool>> {
  const cognito = new CognitoIdentityProviderClient(clientConfig(target, env.region));
  try {
    const seeded = new Map<string, SeededUserPool>();
    for (const service of env.services) {
      const wanted = service.cognito;
      if (!wanted || seeded.has(wanted.userPoolArn)) continue;
      const pool = await cognito.send(
        new CreateUserPoolCommand({ PoolName: wanted.userPoolArn.split('/').pop() }),
      );
      const userPoolId = required(pool.UserPool?.Id, 'CreateUserPool Id');
      const client = await cognito.send(
        new CreateUserPoolClientCommand({ UserPoolId: userPoolId, ClientName: `${env.name}-alb` }),
      );
      await cognito.send(
        new CreateUserPoolDomainCommand({ UserPoolId: userPoolId, Domain: wanted.userPoolDomain }),
      );
      seeded.set(wanted.userPoolArn, {
        userPoolArn: required(pool.UserPool?.Arn, 'CreateUserPool Arn'),
        userPoolClientId: required(client.UserPoolClient?.ClientId, 'CreateUserPoolClient ClientId'),
        userPoolDomain: wanted.userPoolDomain,
      });
    }
    return seeded;
  } finally {
    cognito.destroy();
  }
}

/**
 * `env` with the ids of what was seeded: the VPC and private subnets, the existing listener and its
 * security group, the seeded secrets' and user pools' ARNs. Everything else as configured.
 */
export function seededEnvironment(env: EnvironmentConfig, seeded: SeededEnvironment): EnvironmentConfig {
  const secret = (arn: string) => seeded.secretArns.get(arn) ?? arn;
  const service = (s: ServiceConfig): ServiceConfig => {
    const pool = s.cognito ? seeded.userPools.get(s.cognito.userPoolArn) : undefined;
    return {
      ...s,
      ...(s.secrets
        ? {
            secrets: Object.fromEntries(Object.entries(s.secrets).map(([name, arn]) => [name, secret(arn)])),
          }
        : {}),
      ...(pool ? { cognito: pool } : {}),
    };
  };
  const deploy = env.runners?.deploy;
  return {
    ...env,
    network: { vpcId: seeded.vpcId, privateSubnetIds: [...seeded.privateSubnetIds] },
    loadBalancer: { listenerArn: seeded.listenerArn, securityGroupId: seeded.loadBalancerSecurityGroupId },
    services: env.services.map(service),
    ...(env.runners
      ? {
          runners: {
            ...env.runners,
            ...(deploy
              ? {
                  deploy: {
                    ...deploy,
                    ledgerUrlSecretArn: secret(deploy.ledgerUrlSecretArn),
                    ...(deploy.githubTokenSecretArn
                      ? { githubTokenSecretArn: secret(deploy.githubTokenSecretArn) }
                      : {}),
                  },
                }
              : {}),
          },
        }
      : {}),
  };
}

/** `config` with each seeded environment's ids (environments not in `seeded` as they were). */
export function seededConfig(
  config: GantryConfig,
  seeded: ReadonlyMap<string, SeededEnvironment>,
): GantryConfig {
  return {
    ...config,
    environments: config.environments.map((env) => {
      const ids = seeded.get(env.name);
      return ids ? seededEnvironment(env, ids) : env;
    }),
  };
}

/** A self-signed certificate and its key (PEM), valid for two days, made with openssl. */
export function selfSignedCertificate(commonName: string): { certificate: string; privateKey: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-cert-'));
  try {
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '2',
        '-subj',
        `/CN=${commonName}`,
        '-addext',
        `subjectAltName=DNS:${commonName}`,
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    return { certificate: fs.readFileSync(cert, 'utf8'), privateKey: fs.readFileSync(key, 'utf8') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function nameTag(resourceType: 'vpc' | 'subnet', name: string) {
  return [{ ResourceType: resourceType, Tags: [{ Key: 'Name', Value: name }] }];
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`emulator seed: the response has no ${what}`);
  return value;
}
