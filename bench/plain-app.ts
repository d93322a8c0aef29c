/**
 * A plain cdktf app of a given size, with no Gantry code: `GANTRY_BENCH_RESOURCES` S3 buckets spread
 * over `GANTRY_BENCH_STACKS` stacks, run and ended like `npm run synth`. It shows what cdktf itself
 * costs for as many resources as the reference app emits, separating cdktf's per-resource cost from
 * Gantry's.
 */
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { App, TerraformStack } from 'cdktf';
import { exitWhenFlushed } from '../bin/synth-tuning';

const resources = Number(process.env.GANTRY_BENCH_RESOURCES ?? 1);
const stacks = Math.max(1, Number(process.env.GANTRY_BENCH_STACKS ?? 1));
const app = new App({ outdir: process.env.CDKTF_OUTDIR ?? 'cdktf.out', skipValidation: false });
for (let s = 0; s < stacks; s++) {
  const stack = new TerraformStack(app, `plain-${s}`);
  new AwsProvider(stack, 'aws', { region: 'eu-west-1', allowedAccountIds: ['111111111111'] });
  for (let i = s; i < resources; i += stacks) {
    new S3Bucket(stack, `bucket-${i}`, { bucket: `gantry-bench-plain-${i}`, tags: { index: String(i) } });
  }
}
app.synth();
exitWhenFlushed();
