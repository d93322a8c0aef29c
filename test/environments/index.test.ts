import { getEnvironment } from '../../environments';
import { GantryConfigError } from '../../lib/core/errors';

describe('getEnvironment', () => {
  test('finds a configured environment', () => {
    expect(getEnvironment('staging').accountId).toBe('222222222222');
  });

  test('throws naming the allowed environments', () => {
    expect(() => getEnvironment('qa')).toThrow(GantryConfigError);
    expect(() => getEnvironment('qa')).toThrow(
      'environment: "qa" is not configured, allowed: "dev", "staging", "prod"',
    );
  });
});
