/**
 * Image tags through the CLI on real Terraform: a tiny stack declaring `image_tag_api` (builtin
 * `terraform_data` only, so no provider is needed offline) planned with `--var` and with
 * `GANTRY_IMAGE_TAGS`; the saved plan carries the tag, and `apply` applies it.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunRecord } from '../../lib/runtime/ledger';
import { describeWithTerraform } from '../terraform-harness';
import { cleanEnv } from './env';
import { STACK_FACTS_KEY } from '../../lib/core/stack-facts';
import { gantry, tempDir, testFacts } from './helpers';

const COMMIT = 'c0ffee0000000000000000000000000000000a01';
const STALE = 'c0ffee0000000000000000000000000000000a02';

/** A services-like stack: the image is `<repository>:${var.image_tag_api}`, defaulting to v1.0.0. */
function servicesStack(stack: string): string {
  const dir = tempDir('image-tags');
  fs.writeFileSync(
    path.join(dir, 'cdk.tf.json'),
    JSON.stringify({
      '//': {
        [STACK_FACTS_KEY]: testFacts(stack, {
          kind: 'services',
          services: [{ name: 'api', imageTagVariable: 'image_tag_api' }],
        }),
      },
      variable: { image_tag_api: { type: 'string', default: 'v1.0.0' } },
      resource: {
        terraform_data: {
          api: { input: '111111111111.dkr.ecr.eu-west-1.amazonaws.com/acme/api:${var.image_tag_api}' },
        },
      },
      output: { image: { value: '${terraform_data.api.output}' } },
    }),
  );
  return dir;
}

/** What the saved plan carries: the variable's value and the planned image. */
function planned(dir: string, planFile = 'gantry.tfplan'): { tag: string; image: string } {
  const json = JSON.parse(
    execFileSync('terraform', ['show', '-json', planFile], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }),
  ) as {
    variables: Record<string, { value: string }>;
    resource_changes: Array<{ address: string; change: { after: { input: string } } }>;
  };
  const api = json.resource_changes.find((rc) => rc.address === 'terraform_data.api');
  return { tag: json.variables.image_tag_api.value, image: api!.change.after.input };
}

describeWithTerraform('gantry plan with image tags, on real Terraform', () => {
  let ledgerUrl: string;

  beforeAll(() => {
    ledgerUrl = `pglite:${tempDir('image-tags-ledger')}`;
  });

  const env = (extra: NodeJS.ProcessEnv = {}) =>
    cleanEnv(process.env, {
      GANTRY_LEDGER_URL: ledgerUrl,
      GANTRY_COMMIT_SHA: COMMIT,
      GANTRY_ACTOR: 'e2e',
      ...extra,
    });

  async function latest(stack: string): Promise<RunRecord> {
    const result = await gantry(['runs', '--json', '--stack', stack, '--limit', '1'], {
      GANTRY_LEDGER_URL: ledgerUrl,
    });
    expect(result.code).toBe(0);
    return (JSON.parse(result.stdout) as RunRecord[])[0];
  }

  test('--var puts the tag in the saved plan, the row records it, and apply applies it', async () => {
    const dir = servicesStack('svc-var');
    const plan = await gantry(['plan', 'svc-var', '--dir', dir, '--var', 'image_tag_api=v1.3.0'], env());
    expect(plan.stderr).toContain('variables: image_tag_api=v1.3.0 (--var)');
    expect(plan.code).toBe(0);
    expect(planned(dir)).toEqual({
      tag: 'v1.3.0',
      image: '111111111111.dkr.ecr.eu-west-1.amazonaws.com/acme/api:v1.3.0',
    });
    expect(await latest('svc-var')).toMatchObject({
      action: 'plan',
      status: 'planned',
      note: 'variables: image_tag_api=v1.3.0 (--var)',
    });

    const apply = await gantry(['apply', 'svc-var', '--dir', dir], env());
    expect(apply.code).toBe(0);
    const output = execFileSync('terraform', ['output', '-raw', 'image'], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(output).toBe('111111111111.dkr.ecr.eu-west-1.amazonaws.com/acme/api:v1.3.0');
  });

  test('GANTRY_IMAGE_TAGS bound to this commit puts the tag in the plan', async () => {
    const dir = servicesStack('svc-param');
    const tags = JSON.stringify({ commit: COMMIT, tags: { api: 'v1.2.9' } });
    const plan = await gantry(['plan', 'svc-param', '--dir', dir], env({ GANTRY_IMAGE_TAGS: tags }));
    expect(plan.code).toBe(0);
    expect(plan.stderr).toContain(`image tags bound to commit ${COMMIT} apply`);
    expect(planned(dir).tag).toBe('v1.2.9');
    expect((await latest('svc-param')).note).toBe('variables: image_tag_api=v1.2.9 (GANTRY_IMAGE_TAGS)');
  });

  test('GANTRY_IMAGE_TAGS written for another commit is ignored: the default tag is planned', async () => {
    const dir = servicesStack('svc-stale');
    const tags = JSON.stringify({ commit: STALE, tags: { api: 'v0.9.0' } });
    const plan = await gantry(['plan', 'svc-stale', '--dir', dir], env({ GANTRY_IMAGE_TAGS: tags }));
    expect(plan.code).toBe(0);
    expect(plan.stderr).toContain(`GANTRY_IMAGE_TAGS ignored: written for commit ${STALE}`);
    expect(planned(dir).tag).toBe('v1.0.0');
    expect((await latest('svc-stale')).note).toBeNull();
  });

  test.each([
    ['latest by --var', ['--var', 'image_tag_api=latest'], {}, 'latest is mutable'],
    ['undeclared --var', ['--var', 'image_tag_web=v1'], {}, 'declares no variable image_tag_web'],
    [
      'unknown service',
      [],
      { GANTRY_IMAGE_TAGS: JSON.stringify({ commit: COMMIT, tags: { web: 'v1' } }) },
      'no image tag variable image_tag_web',
    ],
  ])('%s is refused (exit 3), recorded, and Terraform never plans', async (name, args, extra, reason) => {
    const stack = `svc-refused-${name.replace(/\W+/g, '-')}`;
    const dir = servicesStack(stack);
    const plan = await gantry(['plan', stack, '--dir', dir, ...args], env(extra));
    expect(plan.code).toBe(3);
    expect(plan.stderr).toMatch(
      new RegExp(`plan refused: .*${reason}.* \\(recorded as run [0-9a-f-]{36}\\)`),
    );
    expect(await latest(stack)).toMatchObject({
      action: 'plan',
      status: 'refused',
      exitCode: 3,
      errorSummary: expect.stringContaining(reason),
    });
    expect(fs.existsSync(path.join(dir, 'gantry.tfplan'))).toBe(false);
  });
});
