import * as path from 'node:path';
import { cachedPlan } from '../plan-cache';
import { describeWithTerraform } from '../terraform-harness';
import { AWS_STACKS, distinctShapes, PLANNED_SHAPES_ORDER, synthApp } from '../util';

// Real Terraform: init from the offline provider mirror and plan the AWS stacks of the reference
// configuration (fake credentials, no API calls); `plan` validates the configuration first. One
// stack per shape (see stackShape): the others of its shape make the same calls with other values,
// which the emulator suites apply (test/emulator/) and the policy rules check.
describeWithTerraform('terraform on the reference AWS stacks', () => {
  const outdir = synthApp();
  const shapes = distinctShapes(outdir, PLANNED_SHAPES_ORDER);

  test('every AWS stack is of a shape planned here', () => {
    const covered = shapes.flatMap((s) => [s.stackId, ...s.sameShape]).sort();
    expect(covered).toEqual([...AWS_STACKS].sort());
    // Foundations and services never share a shape: both kinds are planned.
    expect(shapes.map((s) => s.stackId.split('-').pop()).sort()).toEqual(
      expect.arrayContaining(['foundation', 'services']),
    );
  });

  test.each(shapes.map((s) => [s.stackId, s.sameShape.join(', ') || 'none'] as const))(
    '%s initialises and plans offline (same shape: %s)',
    (stackId) => {
      const { status, json } = cachedPlan(path.join(outdir, 'stacks', stackId));
      const managed = (json.resource_changes ?? []).filter((c) => c.mode === 'managed');
      // Every managed resource of a fresh state is a create; exit code 2 says changes are present.
      expect(managed.length).toBeGreaterThan(0);
      expect(managed.every((c) => c.change.actions.join() === 'create')).toBe(true);
      expect(status).toBe(2);
    },
  );
});
