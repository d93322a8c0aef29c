/**
 * The KMS key that encrypts an S3 state, as an IAM policy can name it. A key given by ARN or id is a
 * resource; a key given by alias is not (an alias in `Resource` names the alias, never its key), and the
 * bootstrap stack's key is known only by its alias when the other stacks are synthesized: such a key is
 * granted as "any key of that account and region whose aliases include this one" (`kms:ResourceAliases`),
 * used through S3 only (`kms:ViaService`).
 */
import { dnsSuffixOf, partitionOf } from './naming';

/** A state key: its ARN, or its alias (`alias/<name>`) in the account and region of the key. */
export type StateKeyRef =
  | { readonly keyArn: string }
  | { readonly aliasName: string; readonly accountId: string; readonly region: string };

/** A literal KMS alias ARN, `arn:<partition>:kms:<region>:<account>:alias/<name>` (groups: region, account, alias). */
export const KMS_ALIAS_ARN = /^arn:aws(?:-cn|-us-gov)?:kms:([a-z0-9-]+):(\d{12}):(alias\/[A-Za-z0-9/_-]+)$/;

/**
 * What a backend's `kms_key_id` names: a key ARN stays one; an alias ARN is parsed; a bare key id or
 * `alias/<name>` resolves, as S3 resolves it, in the caller's account (`home`) and the bucket's region.
 */
export function stateKeyRef(kmsKeyId: string, home: { accountId: string; region: string }): StateKeyRef {
  const alias = KMS_ALIAS_ARN.exec(kmsKeyId);
  if (alias) return { aliasName: alias[3], accountId: alias[2], region: alias[1] };
  if (kmsKeyId.startsWith('arn:')) return { keyArn: kmsKeyId };
  if (kmsKeyId.startsWith('alias/')) return { aliasName: kmsKeyId, ...home };
  return { keyArn: `arn:${partitionOf(home.region)}:kms:${home.region}:${home.accountId}:key/${kmsKeyId}` };
}

/** The alias ARN of an alias-named key (what `PlanStateAccess.kmsKeyAliasArn` takes). */
export function stateKeyAliasArn(ref: Extract<StateKeyRef, { aliasName: string }>): string {
  return `arn:${partitionOf(ref.region)}:kms:${ref.region}:${ref.accountId}:${ref.aliasName}`;
}

/** `arn:<partition>:kms:<region>:<account>:key/*`: every key of the alias's account and region. */
export function aliasKeysArn(ref: Extract<StateKeyRef, { aliasName: string }>): string {
  return `arn:${partitionOf(ref.region)}:kms:${ref.region}:${ref.accountId}:key/*`;
}

/**
 * Allow `actions` with the state key: on its ARN; or, for a key named by alias, on the keys of its account
 * and region whose aliases include it (`ForAnyValue:StringEquals kms:ResourceAliases`, a multi-valued key
 * listing the key's aliases of its own account and region), through S3 of that region only.
 */
export function stateKeyStatement(
  sid: string,
  actions: readonly string[],
  ref: StateKeyRef,
): {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: string;
  Condition?: Record<string, Record<string, string>>;
} {
  if ('keyArn' in ref) return { Sid: sid, Effect: 'Allow', Action: [...actions], Resource: ref.keyArn };
  return {
    Sid: sid,
    Effect: 'Allow',
    Action: [...actions],
    Resource: aliasKeysArn(ref),
    Condition: {
      'ForAnyValue:StringEquals': { 'kms:ResourceAliases': ref.aliasName },
      StringEquals: { 'kms:ViaService': `s3.${ref.region}.${dnsSuffixOf(ref.region)}` },
    },
  };
}
