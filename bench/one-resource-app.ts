/**
 * The floor of the synth benchmark: the smallest useful cdktf app, run exactly like `npm run synth`
 * (same require hook, same Node flags) and ending as the reference app does (`exitWhenFlushed`, so
 * the heap teardown the reference app skips is not counted against the floor). One stack, one AWS
 * provider, one resource imported by deep path, written to `CDKTF_OUTDIR`. Gantry's synth is
 * measured against this.
 */
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { App, TerraformStack } from 'cdktf';
import { exitWhenFlushed } from '../bin/synth-tuning';

const app = new App({ outdir: process.env.CDKTF_OUTDIR ?? 'cdktf.out', skipValidation: false });
const stack = new TerraformStack(app, 'floor');
new AwsProvider(stack, 'aws', { region: 'eu-west-1', allowedAccountIds: ['111111111111'] });
new S3Bucket(stack, 'bucket', { bucket: 'gantry-bench-floor' });
app.synth();
exitWhenFlushed();
