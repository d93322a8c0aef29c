import { Token } from 'cdktf';
import { ROLE_INLINE_POLICIES_MAX_CHARS } from './aws-limits';

/**
 * Why a role's inline policies (literal JSON documents) would be refused by IAM, or undefined when
 * they fit. A document that still holds an unresolved token is not measured: its final size is
 * unknown until Terraform runs.
 */
export function inlinePolicySizeProblem(roleName: string, documents: readonly string[]): string | undefined {
  if (Token.isUnresolved(roleName) || documents.some((d) => Token.isUnresolved(d))) return undefined;
  const size = documents.reduce((n, d) => n + d.replace(/\s/g, '').length, 0);
  if (size <= ROLE_INLINE_POLICIES_MAX_CHARS) return undefined;
  return (
    `the inline policies of role ${JSON.stringify(roleName)} come to ${size} characters (whitespace not counted); ` +
    `IAM allows ${ROLE_INLINE_POLICIES_MAX_CHARS} per role: use shorter names, fewer statements or a managed policy`
  );
}
