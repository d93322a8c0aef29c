import * as path from 'node:path';
import { SERVICES_STACK_PERMISSIONS } from '../../lib/runner';
import { cachedPlan } from '../plan-cache';
import { describeWithTerraform } from '../terraform-harness';
import { readStack, synthApp, withCreatedLoadBalancer } from '../util';

// The resource types of the services stacks as real Terraform plans them (hashicorp/aws 5.100.0,
// offline): each one has its permissions in SERVICES_STACK_PERMISSIONS, and the resources the deploy
// role reaches by the stack tag (security groups and their rules, the KMS key) are created with it.
describeWithTerraform('terraform: the services stacks the deploy role applies', () => {
  const reference = synthApp();
  const created = synthApp(withCreatedLoadBalancer());

  test.each([
    ['prod-services', 'an existing listener', reference],
    ['prod-services', 'loadBalancer.create', created],
  ])(
    '%s (%s): every planned resource type has its permissions, and the tagged ones carry the stack tag',
    (stackId, _variant, outdir) => {
      const plan = cachedPlan(path.join(outdir, 'stacks', stackId)).json;
      const changes = plan.resource_changes ?? [];
      const planned = [
        ...new Set(changes.map((c) => (c.mode === 'data' ? `data.${c.type}` : c.type))),
      ].sort();
      expect(planned.filter((t) => SERVICES_STACK_PERMISSIONS[t] === undefined)).toEqual([]);
      // What the synthesized JSON holds is what Terraform plans: the table test covers them all.
      const synthesized = readStack(outdir, stackId);
      expect(planned).toEqual(
        [
          ...Object.keys(synthesized.resource ?? {}),
          ...Object.keys(synthesized.data ?? {}).map((t) => `data.${t}`),
        ].sort(),
      );
      // The provider's default tags reach every resource the deploy role may only touch by its tag.
      const tagged = changes.filter((c) =>
        [
          'aws_security_group',
          'aws_vpc_security_group_ingress_rule',
          'aws_vpc_security_group_egress_rule',
          'aws_kms_key',
        ].includes(c.type),
      );
      expect(tagged.length).toBeGreaterThan(0);
      for (const change of tagged) {
        const after = change.change.after as { tags_all?: Record<string, string> };
        expect([change.address, after.tags_all?.['gantry:stack']]).toEqual([change.address, stackId]);
      }
    },
  );
});
