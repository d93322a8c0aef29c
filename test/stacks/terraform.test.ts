import * as path from 'node:path';
import { describeWithTerraform, OfflineTerraform } from '../terraform-harness';
import { AWS_STACKS, synthApp } from '../util';

// Real Terraform: init from the offline provider mirror, validate, and plan every AWS stack of the
// reference configuration (fake credentials, no API calls).
describeWithTerraform('terraform on the reference AWS stacks', () => {
  const outdir = synthApp();

  test.each(AWS_STACKS)('%s initialises, validates and plans offline', (stackId) => {
    const tf = OfflineTerraform.prepare(path.join(outdir, 'stacks', stackId));
    try {
      tf.init();
      expect(tf.validate().stdout).toContain('The configuration is valid');
      const plan = tf.plan();
      const json = tf.showJson();
      const managed = (json.resource_changes ?? []).filter((c) => c.mode === 'managed');
      // Every managed resource of a fresh state is a create; exit code 2 says changes are present.
      expect(managed.every((c) => c.change.actions.join() === 'create')).toBe(true);
      expect(plan.status).toBe(managed.length > 0 ? 2 : 0);
    } finally {
      tf.dispose();
    }
  });
});
