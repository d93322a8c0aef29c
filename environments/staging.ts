import { referenceServices } from './services';
import type { EnvironmentConfig } from '../lib/config';

const accountId = '222222222222';

/** staging: one approval from `platform-reviewers`, deploys from `main`. */
export const staging = {
  name: 'staging',
  accountId,
  region: 'eu-west-1',
  approval: { requiredApprovals: 1, reviewerGroups: [{ teams: ['platform-reviewers'] }] },
  deploymentBranches: { branches: ['main'] },
  network: {
    vpcId: 'vpc-0b2d0000000000002',
    privateSubnetIds: ['subnet-0b2d0000000000a02', 'subnet-0b2d0000000000b02', 'subnet-0b2d0000000000c02'],
  },
  loadBalancer: {
    listenerArn: `arn:aws:elasticloadbalancing:eu-west-1:${accountId}:listener/app/acme-staging/0b2d000000000002/0b2d0000000000f2`,
    securityGroupId: 'sg-0b2d00000000000a2',
  },
  registry: { keepReleaseTags: 30, untaggedExpiryDays: 7 },
  services: referenceServices({
    accountId,
    name: 'staging',
    domain: 'staging.acme.example',
    imageTag: 'v1.3.2',
    desiredCount: 2,
  }),
  runners: {
    deploy: {
      connectionArn: `arn:aws:codeconnections:eu-west-1:${accountId}:connection/0b2d0000-0000-4000-8000-000000000002`,
      ledgerUrlSecretArn: `arn:aws:secretsmanager:eu-west-1:${accountId}:secret:acme/staging/gantry-ledger-url`,
    },
  },
  logRetentionDays: 90,
} satisfies EnvironmentConfig;
