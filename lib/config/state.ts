/** Where a stack's Terraform state lives: local by default, or S3 (one key per stack, locked, encrypted). */
import { FieldProblems, show, type FieldProblem } from '../core/errors';
import { bucketNameProblem, KMS_KEY_ARN, regionProblem } from '../core/identifiers';

/** An S3 backend for one Terraform state per stack (key `<keyPrefix><stack>.tfstate`). */
export interface S3StateBackendConfig {
  readonly bucket: string;
  /** @default the environment's region */
  readonly region?: string;
  /** @default 'gantry/' */
  readonly keyPrefix?: string;
  /**
   * KMS key (ARN, key id or `alias/...`) for server-side encryption of the state.
   * @default the bucket's default encryption
   */
  readonly kmsKeyId?: string;
}

/** The default key prefix of the S3 backend. */
export const DEFAULT_STATE_KEY_PREFIX = 'gantry/';

/** The state object key of a stack: `<keyPrefix><stack>.tfstate` (its lock is `<key>.tflock`). */
export function stateKey(stackId: string, backend: S3StateBackendConfig): string {
  return `${backend.keyPrefix ?? DEFAULT_STATE_KEY_PREFIX}${stackId}.tfstate`;
}

const KEY_PREFIX = /^(?:[A-Za-z0-9!_.*'()-]+\/)*$/;
const KMS_KEY_REFERENCE =
  /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|alias\/[A-Za-z0-9/_-]+)$/;

/** Problems of an S3 backend: the bucket name, region, key prefix and KMS key reference. */
export function stateBackendProblems(backend: S3StateBackendConfig): FieldProblem[] {
  const problems = new FieldProblems();
  if (typeof backend !== 'object' || backend === null) {
    problems.add('', `${show(backend)} is not an S3 backend ({ bucket, region?, keyPrefix?, kmsKeyId? })`);
    return problems.list;
  }
  problems.addIf('bucket', bucketNameProblem(backend.bucket));
  if (backend.region !== undefined) problems.addIf('region', regionProblem(backend.region));
  if (backend.keyPrefix !== undefined) {
    problems.check(
      typeof backend.keyPrefix === 'string' &&
        KEY_PREFIX.test(backend.keyPrefix) &&
        !backend.keyPrefix.startsWith('/'),
      'keyPrefix',
      `${show(backend.keyPrefix)} must be empty or end with "/" (e.g. "gantry/"), without a leading "/" or spaces`,
    );
  }
  if (backend.kmsKeyId !== undefined) {
    problems.check(
      typeof backend.kmsKeyId === 'string' &&
        (KMS_KEY_ARN.test(backend.kmsKeyId) || KMS_KEY_REFERENCE.test(backend.kmsKeyId)),
      'kmsKeyId',
      `${show(backend.kmsKeyId)} is not a KMS key ARN, key id or alias/<name>`,
    );
  }
  return problems.list;
}
