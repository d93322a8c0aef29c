import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  declaredVariables,
  describeVariables,
  imageTagsFromParameter,
  resolveVariables,
  terraformVarArgs,
  type DeclaredVariable,
} from '../../lib/runtime/variables';
import { tempDir } from './helpers';

const COMMIT = 'c0ffee0000000000000000000000000000000001';
const OTHER = 'c0ffee0000000000000000000000000000000002';

const declared = new Map<string, DeclaredVariable>([
  ['image_tag_api', { sensitive: false }],
  ['image_tag_admin_frontend', { sensitive: false }],
  ['replicas', { sensitive: false }],
  ['db_password', { sensitive: true }],
]);

const parameter = (commit: string, tags: Record<string, unknown>) => JSON.stringify({ commit, tags });

describe('image tags bound to a commit (GANTRY_IMAGE_TAGS)', () => {
  test('apply when written for the commit being planned, as image_tag_<service with - as _>', () => {
    const result = imageTagsFromParameter(
      parameter(COMMIT, { api: 'v1.3.0', 'admin-frontend': 'v1.2.9' }),
      COMMIT,
      declared,
    );
    expect(result).toEqual({
      ok: true,
      variables: [
        { name: 'image_tag_admin_frontend', value: 'v1.2.9', source: 'GANTRY_IMAGE_TAGS' },
        { name: 'image_tag_api', value: 'v1.3.0', source: 'GANTRY_IMAGE_TAGS' },
      ],
      notes: [`GANTRY_IMAGE_TAGS: image tags bound to commit ${COMMIT} apply`],
    });
  });

  test('the commit is compared without regard to case', () => {
    const result = imageTagsFromParameter(parameter(COMMIT.toUpperCase(), { api: 'v1' }), COMMIT, declared);
    expect(result.ok && result.variables.map((v) => v.value)).toEqual(['v1']);
  });

  test('are ignored, with a note, when written for another commit (a stale dispatch)', () => {
    const result = imageTagsFromParameter(parameter(OTHER, { api: 'v1.3.0' }), COMMIT, declared);
    expect(result).toEqual({
      ok: true,
      variables: [],
      notes: [expect.stringContaining(`ignored: written for commit ${OTHER}, this is commit ${COMMIT}`)],
    });
  });

  test('are ignored when the current commit is unknown or the value names no commit', () => {
    const unknown = imageTagsFromParameter(parameter(COMMIT, { api: 'v1' }), null, declared);
    expect(unknown.ok && unknown.variables).toEqual([]);
    const unbound = imageTagsFromParameter(parameter('', { api: 'v1' }), COMMIT, declared);
    expect(unbound).toEqual({
      ok: true,
      variables: [],
      notes: ['GANTRY_IMAGE_TAGS ignored: its 1 tag(s) are bound to no commit'],
    });
  });

  test("the parameter's initial value gives no tags", () => {
    const initial = imageTagsFromParameter('{"commit":"","tags":{}}', COMMIT, declared);
    expect(initial.ok && initial.variables).toEqual([]);
  });

  test.each([
    ['latest', 'latest is mutable'],
    ['v1;rm -rf /', 'is not an image tag'],
    ['-v1', 'is not an image tag'],
    ['', 'is not an image tag'],
    ['x'.repeat(129), 'is not an image tag'],
  ])('refuses the invalid tag %j', (tag, fragment) => {
    const result = imageTagsFromParameter(parameter(COMMIT, { api: tag }), COMMIT, declared);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toContain('service "api"');
    expect(!result.ok && result.reason).toContain(fragment);
  });

  test('refuses a service the stack has no image tag variable for', () => {
    const result = imageTagsFromParameter(parameter(COMMIT, { billing: 'v1' }), COMMIT, declared);
    expect(result).toEqual({
      ok: false,
      reason:
        'GANTRY_IMAGE_TAGS service "billing": the stack has no image tag variable image_tag_billing (services: admin_frontend, api)',
    });
  });

  test('a stale value is not validated: it is not for this deploy', () => {
    const result = imageTagsFromParameter(parameter(OTHER, { billing: 'latest' }), COMMIT, declared);
    expect(result.ok).toBe(true);
  });

  test.each([
    ['not JSON', 'is not JSON'],
    ['[]', 'must be {"commit"'],
    ['{"commit": 1, "tags": {}}', 'must be {"commit"'],
    ['{"commit": "abc", "tags": []}', 'must be {"commit"'],
  ])('refuses the malformed value %j', (raw, fragment) => {
    const result = imageTagsFromParameter(raw, COMMIT, declared);
    expect(!result.ok && result.reason).toContain(fragment);
  });

  test('refuses a tag that is not a string', () => {
    const result = imageTagsFromParameter(parameter(COMMIT, { api: 13 }), COMMIT, declared);
    expect(!result.ok && result.reason).toContain('the tag must be a string');
  });
});

describe('--var', () => {
  const resolve = (varArgs: string[], imageTags?: string) =>
    resolveVariables({ varArgs, imageTags, commit: COMMIT, declared });

  test('passes declared variables to terraform plan as -var', () => {
    const result = resolve(['image_tag_api=v1.3.0', 'replicas=3']);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(terraformVarArgs(result.variables)).toEqual(['-var=image_tag_api=v1.3.0', '-var=replicas=3']);
  });

  test('the ledger keeps names, and the values of image tags only', () => {
    const result = resolve(['image_tag_api=v1.3.0', 'replicas=s3cr3t-looking']);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const note = describeVariables(result.variables);
    expect(note).toBe('variables: image_tag_api=v1.3.0 (--var), replicas (--var, value not recorded)');
    expect(note).not.toContain('s3cr3t');
    expect(describeVariables([])).toBeNull();
  });

  test('refuses a variable the stack does not declare, naming the declared ones but no value', () => {
    const result = resolve(['api_key=hunter22']);
    expect(result).toEqual({
      ok: false,
      reason:
        '--var api_key: the stack declares no variable api_key (declared: db_password, image_tag_admin_frontend, image_tag_api, replicas)',
    });
  });

  test('refuses a malformed argument without echoing it', () => {
    const result = resolve(['image_tag_api=v1', 'hunter22']);
    expect(result).toEqual({
      ok: false,
      reason: '--var #2: expected name=value with a Terraform variable name, e.g. --var image_tag_api=v1.3.0',
    });
  });

  test.each([['latest'], ['v1 ; id'], ['']])('refuses the image tag %j', (tag) => {
    const result = resolve([`image_tag_api=${tag}`]);
    expect(!result.ok && result.reason).toMatch(
      /^--var image_tag_api: image tag ".*" (latest is mutable|is not an image tag)/,
    );
  });

  test('refuses a sensitive variable on the command line, without its value', () => {
    const result = resolve(['db_password=hunter22']);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toContain('pass it as TF_VAR_db_password');
    expect(!result.ok && result.reason).not.toContain('hunter22');
  });

  test('refuses a variable given twice with different values, or both by --var and the parameter', () => {
    expect(resolve(['image_tag_api=v1', 'image_tag_api=v2']).ok).toBe(false);
    expect(resolve(['image_tag_api=v1', 'image_tag_api=v1']).ok).toBe(true);
    const both = resolve(['image_tag_api=v1'], parameter(COMMIT, { api: 'v2' }));
    expect(!both.ok && both.reason).toContain('--var gives "v1", GANTRY_IMAGE_TAGS gives "v2"');
    const same = resolve(['image_tag_api=v1'], parameter(COMMIT, { api: 'v1' }));
    expect(same.ok && same.variables).toEqual([{ name: 'image_tag_api', value: 'v1', source: '--var' }]);
  });

  test('an empty GANTRY_IMAGE_TAGS is the same as none', () => {
    expect(resolve([], '')).toEqual({ ok: true, variables: [], notes: [] });
  });
});

describe('declaredVariables', () => {
  test("reads the variable blocks of the stack's Terraform JSON, with their sensitivity", () => {
    const dir = tempDir('declared');
    fs.writeFileSync(
      path.join(dir, 'cdk.tf.json'),
      JSON.stringify({
        variable: { image_tag_api: { type: 'string', default: 'v1' }, token: { sensitive: true } },
      }),
    );
    fs.writeFileSync(path.join(dir, 'notes.json'), JSON.stringify({ variable: { ignored: {} } }));
    expect([...declaredVariables(dir)]).toEqual([
      ['image_tag_api', { sensitive: false }],
      ['token', { sensitive: true }],
    ]);
  });
});
