import { App, TerraformStack } from 'cdktf';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { referenceConfig } from '../../../environments';
import { Policy } from '../../../lib/policy';
import { createStacks } from '../../../stacks';

// The policy hands the JSON it checked to synth instead of resolving the stack again: what is
// written must be exactly what a fresh resolve gives.
describe('Policy: synth writes the JSON it checked', () => {
  test('every reference stack file equals a fresh resolve of its stack', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-reuse-'));
    const app = new App({ outdir });
    createStacks(app, referenceConfig);
    app.synth();
    const stacks = app.node.children.filter((c): c is TerraformStack => c instanceof TerraformStack);
    expect(stacks).toHaveLength(7);
    for (const stack of stacks) {
      const written = JSON.parse(
        fs.readFileSync(path.join(outdir, 'stacks', stack.node.id, 'cdk.tf.json'), 'utf8'),
      );
      expect(written).toEqual(JSON.parse(JSON.stringify(stack.toTerraform())));
    }
  });

  test('a construct added after the validation ran is resolved afresh, not dropped', () => {
    const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-reuse-')) });
    const stack = new TerraformStack(app, 'late');
    new AwsProvider(stack, 'aws', { region: 'eu-west-1', allowedAccountIds: ['111111111111'] });
    Policy.enforce(stack, { writeReport: false });
    stack.runAllValidations();
    new S3Bucket(stack, 'late-bucket', { bucket: 'added-after-validation' });
    const json = stack.toTerraform() as { resource?: { aws_s3_bucket?: Record<string, { bucket: string }> } };
    expect(Object.values(json.resource?.aws_s3_bucket ?? {}).map((b) => b.bucket)).toEqual([
      'added-after-validation',
    ]);
  });
});
