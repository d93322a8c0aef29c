import * as fs from 'node:fs';
import * as path from 'node:path';
import { notAPlan } from '../../lib/runtime/plan-summary';
import { PLAN_FIXTURES } from '../util';
import { gantry, REPO, tempDir } from './helpers';

describe('gantry show', () => {
  test('summarizes a plan', async () => {
    const result = await gantry(
      ['show', path.join(PLAN_FIXTURES, 'tf1.11.4-aws5.100.0__create__plan.json')],
      {},
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/3 to create/);
  });

  test.each([
    ['package.json', path.join(REPO, 'package.json'), /it has no "format_version"/],
    [
      'a Terraform state',
      path.join(PLAN_FIXTURES, 'tfjson-0.5.0__no_changes__state.json'),
      /no "planned_values" or "resource_changes"/,
    ],
    ['a JSON array', 'array', /it is not a JSON object/],
  ])('refuses %s with one line and exit 1', async (_what, file, reason) => {
    const target = file === 'array' ? path.join(tempDir('show'), 'list.json') : file;
    if (file === 'array') fs.writeFileSync(target, '[1, 2]');
    const result = await gantry(['show', target], {});
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(reason);
    expect(result.stderr).toMatch(/^gantry: show: .* is not a plan from `terraform show -json`: /);
  });

  test('accepts every plan fixture and no other file', () => {
    for (const file of fs.readdirSync(PLAN_FIXTURES).filter((f) => f.endsWith('.json'))) {
      const problem = notAPlan(JSON.parse(fs.readFileSync(path.join(PLAN_FIXTURES, file), 'utf8')));
      if (file.endsWith('__plan.json')) expect([file, problem]).toEqual([file, undefined]);
      else expect([file, problem]).toEqual([file, expect.any(String)]);
    }
  });
});
