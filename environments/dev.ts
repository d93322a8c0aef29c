import { referenceServices } from './services';
import type { EnvironmentConfig } from '../lib/config';

const accountId = '111111111111';

/** dev: deploys automatically from `main`, no review. */
export const dev = {
  name: 'dev',
  accountId,
  region: 'eu-west-1',
  approval: { requiredApprovals: 0 },
  deploymentBranches: { branches: ['main'] },
  network: {
    vpcId: 'vpc-0a1d0000000000001',
    privateSubnetIds: ['subnet-0a1d0000000000a01', 'subnet-0a1d0000000000b01', 'subnet-0a1d0000000000c01'],
  },
  loadBalancer: {
    listenerArn: `arn:aws:elasticloadbalancing:eu-west-1:${accountId}:listener/app/acme-dev/0a1d000000000001/0a1d0000000000f1`,
    securityGroupId: 'sg-0a1d00000000000a1',
  },
  registry: { keepReleaseTags: 20, untaggedExpiryDays: 3 },
  services: referenceServices({
    accountId,
    name: 'dev',
    domain: 'dev.acme.example',
    imageTag: 'v1.4.0',
    desiredCount: 1,
  }),
  runners: {
    githubActions: {
      connectionArn: `arn:aws:codeconnections:eu-west-1:${accountId}:connection/0a1d0000-0000-4000-8000-000000000001`,
      // Only the build workflow's jobs, started by the platform team, run on the dev runner.
      workflowNames: ['build'],
      actorIds: [3000001, 3000002],
    },
    deploy: {
      connectionArn: `arn:aws:codeconnections:eu-west-1:${accountId}:connection/0a1d0000-0000-4000-8000-000000000001`,
      ledgerUrlSecretArn: `arn:aws:secretsmanager:eu-west-1:${accountId}:secret:acme/dev/gantry-ledger-url`,
    },
  },
  logRetentionDays: 30,
} satisfies EnvironmentConfig;
