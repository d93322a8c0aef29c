/** AWS facts Gantry validates against. Kept in one place so a new region or size is a one-line change. */

/** Commercial, GovCloud and China regions. */
export const AWS_REGIONS: ReadonlySet<string> = new Set([
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'af-south-1',
  'ap-east-1',
  'ap-east-2',
  'ap-south-1',
  'ap-south-2',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-6',
  'ap-southeast-7',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ca-central-1',
  'ca-west-1',
  'eu-central-1',
  'eu-central-2',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-south-1',
  'eu-south-2',
  'eu-north-1',
  'il-central-1',
  'me-south-1',
  'me-central-1',
  'mx-central-1',
  'sa-east-1',
  'us-gov-east-1',
  'us-gov-west-1',
  'cn-north-1',
  'cn-northwest-1',
]);

/** Fargate task sizes: memory (MiB) range and step for each CPU value (Linux). */
export const FARGATE_MEMORY_BY_CPU: ReadonlyMap<
  number,
  { min: number; max: number; step: number; extra?: number[] }
> = new Map([
  [256, { min: 1024, max: 2048, step: 1024, extra: [512] }],
  [512, { min: 1024, max: 4096, step: 1024 }],
  [1024, { min: 2048, max: 8192, step: 1024 }],
  [2048, { min: 4096, max: 16384, step: 1024 }],
  [4096, { min: 8192, max: 30720, step: 1024 }],
  [8192, { min: 16384, max: 61440, step: 4096 }],
  [16384, { min: 32768, max: 122880, step: 8192 }],
]);

/** Memory sizes (MiB) Fargate accepts for `cpu`, ascending; empty for an unknown CPU value. */
export function fargateMemoryOptions(cpu: number): number[] {
  const range = FARGATE_MEMORY_BY_CPU.get(cpu);
  if (!range) return [];
  const options = [...(range.extra ?? [])];
  for (let m = range.min; m <= range.max; m += range.step) options.push(m);
  return options;
}

/** Retention values CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS: ReadonlySet<number> = new Set([
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
]);

/** IAM: the inline policies of one role together, in characters, whitespace not counted. */
export const ROLE_INLINE_POLICIES_MAX_CHARS = 10_240;

/** IAM: one customer managed policy document, in characters, whitespace not counted. */
export const MANAGED_POLICY_MAX_CHARS = 6_144;
