import { referenceServices } from './services';
import type { EnvironmentConfig } from '../lib/config';

const accountId = '333333333333';

/**
 * prod: 4-eyes. Two distinct approvals besides the person who triggers the deployment: first
 * `platform-leads` (gate environment `prod-approval`), then `sre` (environment `prod`).
 */
export const prod = {
  name: 'prod',
  accountId,
  region: 'eu-west-1',
  production: true,
  approval: {
    requiredApprovals: 2,
    reviewerGroups: [{ teams: ['platform-leads'] }, { teams: ['sre'] }],
  },
  deploymentBranches: { branches: ['main'] },
  network: {
    vpcId: 'vpc-0c3d0000000000003',
    privateSubnetIds: ['subnet-0c3d0000000000a03', 'subnet-0c3d0000000000b03', 'subnet-0c3d0000000000c03'],
  },
  loadBalancer: {
    listenerArn: `arn:aws:elasticloadbalancing:eu-west-1:${accountId}:listener/app/acme-prod/0c3d000000000003/0c3d0000000000f3`,
    securityGroupId: 'sg-0c3d00000000000a3',
  },
  registry: { keepReleaseTags: 50, untaggedExpiryDays: 7 },
  services: referenceServices({
    accountId,
    name: 'prod',
    domain: 'acme.example',
    imageTag: 'v1.3.1',
    desiredCount: 3,
  }),
  runners: {
    deploy: {
      connectionArn: `arn:aws:codeconnections:eu-west-1:${accountId}:connection/0c3d0000-0000-4000-8000-000000000003`,
      ledgerUrlSecretArn: `arn:aws:secretsmanager:eu-west-1:${accountId}:secret:acme/prod/gantry-ledger-url`,
      // Reads the Actions runs of acme/platform: the deploy build verifies the 2 approvals with it.
      githubTokenSecretArn: `arn:aws:secretsmanager:eu-west-1:${accountId}:secret:acme/prod/gantry-github-token`,
    },
  },
  logRetentionDays: 365,
  // Each deploy's outcome as Gantry's JSON event; the deploy project's role may publish to this topic only.
  notifications: { snsTopics: [{ topicArn: `arn:aws:sns:eu-west-1:${accountId}:acme-prod-deploys` }] },
} satisfies EnvironmentConfig;
