import { awsClientSettings } from '../../lib/runtime/aws-config';

describe('awsClientSettings', () => {
  test("reads the command's environment: the service's endpoint over the general one, and static keys", () => {
    expect(
      awsClientSettings(
        {
          AWS_ENDPOINT_URL: 'http://127.0.0.1:1',
          AWS_ENDPOINT_URL_ECS: 'http://127.0.0.1:2',
          AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
          AWS_SECRET_ACCESS_KEY: 'secret',
          AWS_SESSION_TOKEN: 'token',
        },
        'ECS',
        'eu-west-1',
      ),
    ).toEqual({
      region: 'eu-west-1',
      endpoint: 'http://127.0.0.1:2',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token' },
    });
    expect(awsClientSettings({ AWS_ENDPOINT_URL: 'http://127.0.0.1:1' }, 'sns', 'us-east-1')).toEqual({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:1',
    });
    // The registry reader of `gantry deploy`: its own variable, then the general one.
    const ecr = { AWS_ENDPOINT_URL: 'http://127.0.0.1:1', AWS_ENDPOINT_URL_ECR: 'http://127.0.0.1:3' };
    expect(awsClientSettings(ecr, 'ECR', 'eu-west-1').endpoint).toBe('http://127.0.0.1:3');
    expect(awsClientSettings(ecr, 'ECS', 'eu-west-1').endpoint).toBe('http://127.0.0.1:1');
  });

  test('leaves what the environment does not set to the SDK (profiles, SSO, instance roles)', () => {
    expect(awsClientSettings({ AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE' }, 'ECS', 'eu-west-1')).toEqual({
      region: 'eu-west-1',
    });
  });
});
