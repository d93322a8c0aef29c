/** GitHub OIDC token subjects (`sub`) and the trust policies Gantry's roles use. */
import type { SubjectFormat } from '../../core/github';

/** Condition keys of GitHub's OIDC tokens. */
export const GITHUB_TOKEN_HOST = 'token.actions.githubusercontent.com';
export const SUB_KEY = `${GITHUB_TOKEN_HOST}:sub`;
export const AUD_KEY = `${GITHUB_TOKEN_HOST}:aud`;
export const JOB_WORKFLOW_REF_KEY = `${GITHUB_TOKEN_HOST}:job_workflow_ref`;

export interface SubjectRepository {
  /** `owner/name`. */
  readonly repository: string;
  readonly ownerId?: number;
  readonly repositoryId?: number;
  readonly subjectFormat: SubjectFormat;
}

/**
 * The `repo:<owner>/<name>` prefixes a subject starts with: names, GitHub's immutable-id form
 * (`repo:<owner>@<ownerId>/<name>@<repositoryId>`), or both during a migration.
 */
export function subjectPrefixes(repo: SubjectRepository): string[] {
  const [owner, name] = repo.repository.split('/');
  const byName = `repo:${owner}/${name}`;
  const byId = `repo:${owner}@${repo.ownerId}/${name}@${repo.repositoryId}`;
  switch (repo.subjectFormat) {
    case 'name':
      return [byName];
    case 'id':
      return [byId];
    case 'name-and-id':
      return [byName, byId];
  }
}

/** Every subject for `contexts` (`environment:prod`, `pull_request`, ...), in every trusted format. */
export function subjects(repo: SubjectRepository, contexts: readonly string[]): string[] {
  return subjectPrefixes(repo).flatMap((prefix) => contexts.map((context) => `${prefix}:${context}`));
}

/**
 * One Allow statement for GitHub's OIDC provider: `aud` pinned, the subjects matched exactly
 * (StringEquals; StringLike with `subjectMatch: 'like'`, for tag patterns), and optionally the reusable
 * workflow pinned in the same statement.
 */
export function githubTrustPolicy(
  providerArn: string,
  sid: string,
  subjectList: readonly string[],
  jobWorkflowRef?: string,
  subjectMatch: 'equals' | 'like' = 'equals',
): Record<string, unknown> {
  const sub = { [SUB_KEY]: subjectList.length === 1 ? subjectList[0] : [...subjectList] };
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: sid,
        Effect: 'Allow',
        Principal: { Federated: providerArn },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: {
          StringEquals: {
            [AUD_KEY]: 'sts.amazonaws.com',
            ...(subjectMatch === 'equals' ? sub : {}),
            ...(jobWorkflowRef ? { [JOB_WORKFLOW_REF_KEY]: jobWorkflowRef } : {}),
          },
          ...(subjectMatch === 'like' ? { StringLike: sub } : {}),
        },
      },
    ],
  };
}
