import { App, Testing } from 'cdktf';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildApp } from '../../examples/other-app/main';

// The README's "use Gantry from another CDKTF app" example must keep synthesizing, policy included.
describe('examples/other-app', () => {
  test('synthesizes the OIDC provider and both roles, and passes the policy', () => {
    const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-example-')) });
    const stack = buildApp(app);
    app.synth();
    const json = JSON.parse(Testing.synth(stack)) as {
      resource: Record<string, Record<string, { name?: string }>>;
    };
    expect(Object.keys(json.resource.aws_iam_openid_connect_provider)).toHaveLength(1);
    expect(
      Object.values(json.resource.aws_iam_role)
        .map((r) => r.name)
        .sort(),
    ).toEqual(['acme-sandbox-gh-apply', 'acme-sandbox-gh-plan']);
    const report = JSON.parse(
      fs.readFileSync(path.join(app.outdir, 'gantry-policy-report.json'), 'utf8'),
    ) as {
      stacks: Array<{ stack: string; violations: unknown[] }>;
    };
    expect(report.stacks).toEqual([expect.objectContaining({ stack: 'sandbox-identity', violations: [] })]);
  });
});
