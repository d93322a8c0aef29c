/**
 * Managed policies a team attaches beyond the permissions Gantry derives, each with the reason it is
 * needed. The reason is recorded in the stack's metadata like a suppression (and listed in the policy
 * report); it is the only way PowerUserAccess or AdministratorAccess passes the policy
 * (docs/security.md 26, GANTRY-IAM-011).
 */
import { FieldProblems, show, type FieldProblem } from './errors';
import { isKnown } from './tokens';

/** One managed policy and why the role needs it. */
export interface ManagedPolicyGrant {
  /** `arn:aws:iam::aws:policy/<name>` or `arn:aws:iam::<account>:policy/<name>`. */
  readonly policyArn: string;
  /** Why the derived permissions are not enough (10+ characters); recorded with the attachment. */
  readonly reason: string;
}

/** The shortest reason accepted: a word or two says nothing a reviewer can check. */
export const MIN_GRANT_REASON_LENGTH = 10;

const MANAGED_POLICY_ARN = /^arn:aws(-cn|-us-gov)?:iam::(aws|\d{12}):policy\/[\w+=,.@/-]+$/;

/** Problems of a list of grants, each under `<field>[<index>].policyArn` / `<field>[<index>].reason`. */
export function managedPolicyGrantProblems(
  grants: readonly ManagedPolicyGrant[] | undefined,
  field: string,
): FieldProblem[] {
  const problems = new FieldProblems();
  if (grants === undefined) return problems.list;
  if (!Array.isArray(grants)) {
    problems.add(field, `${show(grants)} is not a list of { policyArn, reason }`);
    return problems.list;
  }
  grants.forEach((grant, i) => {
    const arn = grant?.policyArn;
    if (isKnown(arn)) {
      problems.check(
        typeof arn === 'string' && MANAGED_POLICY_ARN.test(arn),
        `${field}[${i}].policyArn`,
        `${show(arn)} is not a managed policy ARN (arn:aws:iam::aws|<account>:policy/<name>)`,
      );
    }
    const reason = grant?.reason;
    problems.check(
      typeof reason === 'string' && reason.trim().length >= MIN_GRANT_REASON_LENGTH,
      `${field}[${i}].reason`,
      `${show(reason)} must say, in ${MIN_GRANT_REASON_LENGTH}+ characters, why the derived permissions are not enough (it is recorded with the attachment)`,
    );
  });
  return problems.list;
}
