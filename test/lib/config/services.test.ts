import type { ServiceConfig } from '../../../lib/config';
import { problemsOf, withEnvironment } from '../../util';

const withApi = (change: (s: ServiceConfig) => ServiceConfig) =>
  withEnvironment('prod', (env) => ({
    ...env,
    services: env.services.map((s) => (s.name === 'api' ? change(s) : s)),
  }));

describe('validateConfig: services', () => {
  test('accepts alarm thresholds within bounds', () => {
    expect(
      problemsOf(
        withApi((s) => ({
          ...s,
          alarms: { errorRatePercent: 1, errorRateMinutes: 3, latencyP90Seconds: 0.5, latencyMinutes: 10 },
        })),
      ),
    ).toEqual([]);
  });

  test('rejects alarm thresholds out of bounds', () => {
    expect(
      problemsOf(
        withApi((s) => ({
          ...s,
          alarms: { errorRatePercent: 150, errorRateMinutes: 0, latencyP90Seconds: -1, latencyMinutes: 2.5 },
        })),
      ),
    ).toEqual([
      'prod.services[0].alarms.errorRatePercent: 150 must be a percentage above 0 and at most 100',
      'prod.services[0].alarms.latencyP90Seconds: -1 must be a number of seconds above 0',
      'prod.services[0].alarms.errorRateMinutes: 0 must be an integer from 1 to 1440 (CloudWatch evaluates at most one day)',
      'prod.services[0].alarms.latencyMinutes: 2.5 must be an integer from 1 to 1440 (CloudWatch evaluates at most one day)',
    ]);
  });

  test('rejects alarms on a worker', () => {
    const config = withEnvironment('prod', (env) => ({
      ...env,
      services: env.services.map((s) =>
        s.name === 'worker' ? { ...s, alarms: { errorRatePercent: 1 } } : s,
      ),
    }));
    expect(problemsOf(config)).toEqual([
      'prod.services[3].alarms: service "worker" has no port (a worker), so it has no load-balancer alarms',
    ]);
  });

  test('rejects a service name that makes its role names longer than 64 characters', () => {
    const config = withEnvironment('prod', (env) => ({
      ...env,
      name: 'production-eu-west-one-primary',
      services: env.services.map((s) => (s.name === 'api' ? { ...s, name: 'payments-api-gateway-west' } : s)),
    }));
    const role = 'acme-production-eu-west-one-primary-payments-api-gateway-west';
    expect(problemsOf(config)).toEqual(
      ['task', 'exec'].map(
        (kind) =>
          `production-eu-west-one-primary.services[0].name: IAM role name "${role}-${kind}": 66 characters, IAM allows at most 64; shorten the organization, environment or service name`,
      ),
    );
  });
});
