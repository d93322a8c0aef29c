import * as path from 'node:path';
import { referenceConfig } from '../../../environments';
import { describeWithTerraform, OfflineTerraform } from '../../terraform-harness';
import { synthApp, withEnvironment } from '../../util';

// Real Terraform on a variant the reference config does not exercise: an S3 state backend (so the
// plan role gets its state policy) and the name-and-id subject migration.
describeWithTerraform('deploy roles under real Terraform', () => {
  test('staging-foundation with S3 state and name-and-id subjects plans offline', () => {
    const config = withEnvironment(
      'staging',
      (env) => ({ ...env, stateBackend: { bucket: 'acme-staging-tfstate', keyPrefix: 'platform/' } }),
      {
        ...referenceConfig,
        organization: {
          ...referenceConfig.organization,
          github: { ...referenceConfig.organization.github, subjectFormat: 'name-and-id' },
        },
      },
    );
    const tf = OfflineTerraform.prepare(path.join(synthApp(config), 'stacks', 'staging-foundation'));
    try {
      tf.init();
      tf.plan();
      const changes = tf.showJson().resource_changes ?? [];
      const after = (type: string) =>
        changes.filter((c) => c.type === type).map((c) => c.change.after as Record<string, unknown>);
      const roles = after('aws_iam_role').filter((r) => String(r.name).startsWith('acme-staging-gh-'));
      expect(roles.map((r) => r.name).sort()).toEqual([
        'acme-staging-gh-apply',
        'acme-staging-gh-plan',
        'acme-staging-gh-publish',
        'acme-staging-gh-publish-admin',
      ]);
      // The publish role trusts the tags in both subject forms; the source repository's only by name.
      const publish = JSON.parse(
        roles.find((r) => r.name === 'acme-staging-gh-publish')!.assume_role_policy as string,
      );
      expect(publish.Statement[0].Condition.StringLike['token.actions.githubusercontent.com:sub']).toEqual([
        'repo:acme/platform:ref:refs/tags/v*',
        'repo:acme@1000001/platform@2000002:ref:refs/tags/v*',
      ]);
      const apply = JSON.parse(
        roles.find((r) => r.name === 'acme-staging-gh-apply')!.assume_role_policy as string,
      );
      expect(apply.Statement[0].Condition.StringEquals['token.actions.githubusercontent.com:sub']).toEqual([
        'repo:acme/platform:environment:staging',
        'repo:acme@1000001/platform@2000002:environment:staging',
      ]);
      const state = after('aws_iam_role_policy').find((p) => p.name === 'terraform-state');
      expect(JSON.parse(state!.policy as string).Statement.map((s: { Sid: string }) => s.Sid)).toEqual([
        'ListStateKeys',
        'ReadState',
        'LockState',
      ]);
      expect(after('aws_iam_openid_connect_provider')).toEqual([
        expect.objectContaining({
          url: 'https://token.actions.githubusercontent.com',
          client_id_list: ['sts.amazonaws.com'],
        }),
      ]);
    } finally {
      tf.dispose();
    }
  });
});
