import type { ServiceConfig } from '../lib/config';

/**
 * The four services every reference environment runs; what differs per environment (account,
 * domain, default image tag, task count) is a parameter.
 */
export function referenceServices(env: {
  readonly accountId: string;
  readonly name: string;
  readonly domain: string;
  readonly imageTag: string;
  readonly desiredCount: number;
}): ServiceConfig[] {
  const region = 'eu-west-1';
  const secret = (name: string) =>
    `arn:aws:secretsmanager:${region}:${env.accountId}:secret:acme/${env.name}/${name}`;
  return [
    {
      name: 'api',
      sourcePaths: ['services/api', 'libs/shared'],
      cpu: 512,
      memoryMiB: 1024,
      port: 8000,
      healthCheckPath: '/api/health',
      imageTag: env.imageTag,
      desiredCount: env.desiredCount,
      autoscaling: { minCount: env.desiredCount, maxCount: env.desiredCount * 4 },
      routing: { priority: 100, hostHeaders: [`api.${env.domain}`] },
      environment: { LOG_LEVEL: 'info', PORT: '8000' },
      secrets: { DATABASE_URL: secret('database-url') },
      migration: { command: ['python', 'manage.py', 'migrate', '--noinput'] },
    },
    {
      name: 'admin',
      cpu: 256,
      memoryMiB: 512,
      port: 8080,
      healthCheckPath: '/health',
      imageTag: env.imageTag,
      desiredCount: 1,
      autoscaling: { minCount: 1, maxCount: 2 },
      routing: { priority: 200, hostHeaders: [`admin.${env.domain}`], pathPatterns: ['/api/*', '/health'] },
      secrets: { DATABASE_URL: secret('database-url') },
      cognito: {
        userPoolArn: `arn:aws:cognito-idp:${region}:${env.accountId}:userpool/${region}_AcmeAdmin`,
        userPoolClientId: '4example0client0id0admin0',
        userPoolDomain: `acme-admin-${env.name}`,
      },
    },
    {
      name: 'admin-frontend',
      cpu: 256,
      memoryMiB: 512,
      port: 3000,
      healthCheckPath: '/',
      imageTag: env.imageTag,
      desiredCount: 1,
      autoscaling: { minCount: 1, maxCount: 2 },
      routing: { priority: 300, hostHeaders: [`admin.${env.domain}`] },
      cognito: {
        userPoolArn: `arn:aws:cognito-idp:${region}:${env.accountId}:userpool/${region}_AcmeAdmin`,
        userPoolClientId: '4example0client0id0admin0',
        userPoolDomain: `acme-admin-${env.name}`,
      },
    },
    {
      name: 'worker',
      sourcePaths: ['services/worker', 'libs/shared'],
      cpu: 512,
      memoryMiB: 1024,
      imageTag: env.imageTag,
      desiredCount: 1,
      autoscaling: { minCount: 1, maxCount: 4 },
      command: ['python', '-m', 'worker'],
      environment: { LOG_LEVEL: 'info', QUEUE_NAME: `acme-${env.name}-jobs` },
      secrets: { DATABASE_URL: secret('database-url') },
    },
  ];
}
