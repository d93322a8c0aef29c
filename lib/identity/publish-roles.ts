import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { ProblemList, show } from '../core/errors';
import type { SubjectFormat } from '../core/github';
import { accountIdProblem, GITHUB_REPOSITORY, regionProblem } from '../core/identifiers';
import { roleArn } from '../core/naming';
import { isKnown } from '../core/tokens';
import { ECR_LOGIN_ACTION, ECR_PUSH_ACTIONS } from '../policy/private/publish-rules';
import { checkTrustPolicy, MAX_APPLY_SESSION_SECONDS } from '../policy/trust-policy';
import type { IGithubOidcProvider } from './github-oidc-provider';
import { githubTrustPolicy, subjects, type SubjectRepository } from './private/github-subjects';

/** The release tags a publish role trusts: `v*` (`refs/tags/v1.2.3`). */
export const RELEASE_TAG_PATTERN = 'v*';

/** One publishing repository: whose `v*` tags may push to which ECR repositories. */
export interface PublisherProps {
  readonly roleName: string;
  /** `owner/name`. */
  readonly repository: string;
  /** Numeric owner id (for the `id` subject formats). @default none */
  readonly ownerId?: number;
  /** Numeric repository id (for the `id` subject formats). @default none */
  readonly repositoryId?: number;
  /** @default 'name' */
  readonly subjectFormat?: SubjectFormat;
  /** Literal ARNs of the ECR repositories it may push to (no wildcards). */
  readonly repositoryArns: readonly string[];
}

/** The default branch's publishing: whose pushes to which branch may push to which ECR repositories. */
export interface BranchPublisherProps extends PublisherProps {
  /** The one branch trusted (`ref:refs/heads/<branch>`, matched exactly): the default branch. */
  readonly branch: string;
}

export interface PublishRolesProps {
  readonly accountId: string;
  readonly region: string;
  readonly oidcProvider: IGithubOidcProvider;
  /** This repository's publish role. @default none (only source repositories publish) */
  readonly publisher?: PublisherProps;
  /**
   * This repository's push builds: a role trusted only for pushes to its default branch
   * (`repo:<owner>/<repo>:ref:refs/heads/<branch>`, StringEquals), pushing only the services it builds.
   * @default none (images come from `v*` tags only)
   */
  readonly branchPublisher?: BranchPublisherProps;
  /** Source repositories handing images over, one role each, each limited to its own services. @default none */
  readonly sources?: readonly PublisherProps[];
  /** @default 3600 */
  readonly maxSessionDurationSeconds?: number;
}

const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
/** A literal branch name: no wildcard, no `:`, no space, not a ref path of its own. */
const BRANCH = /^(?!refs\/)(?!.*\.\.)[A-Za-z0-9._/-]{1,200}$/;
const REPOSITORY_ARN = /^arn:aws(-cn|-us-gov)?:ecr:[a-z0-9-]+:\d{12}:repository\/[a-z0-9._/-]+$/;

/**
 * The publish identity of a registry account: a role per publishing repository (`gantry:role = publish`),
 * trusted only for that repository's `v*` tags (StringLike `repo:<owner>/<repo>:ref:refs/tags/v*`, never a
 * branch, a pull request or an environment), allowed to push to its ECR repositories and nothing else
 * (`ecr:GetAuthorizationToken` on `"*"`, which has no resource type). A source repository gets its own role,
 * so its tags can push only its own services' repositories. Optionally a role for this repository's push builds
 * (`gantry:role = publish-branch`), trusted only for pushes to one branch (StringEquals
 * `repo:<owner>/<repo>:ref:refs/heads/<branch>`: never another branch, a tag, a pull request or an environment).
 * Trust checked at synth with `checkTrustPolicy` (kinds `publish`, `publish-branch`); permissions by GANTRY-IAM-014.
 */
export class PublishRoles extends Construct {
  /** The role of this repository's tags, when `publisher` is given. */
  public readonly publisherRole?: IamRole;
  public readonly publisherRoleArn?: string;
  /** The role of this repository's default-branch push builds, when `branchPublisher` is given. */
  public readonly branchPublisherRole?: IamRole;
  public readonly branchPublisherRoleArn?: string;
  /** The roles of the source repositories, by repository. */
  public readonly sourceRoleArns: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: PublishRolesProps) {
    super(scope, id);
    validate(this.node.path, props);
    const session = props.maxSessionDurationSeconds ?? 3600;
    const trusts: { name: string; json: string; branch?: string }[] = [];
    const arnOf = (name: string) => roleArn(props.accountId, props.region, name);
    const roleFor = (publisher: PublisherProps, constructId: string, branch?: string): IamRole => {
      const repo: SubjectRepository = {
        repository: publisher.repository,
        ownerId: publisher.ownerId,
        repositoryId: publisher.repositoryId,
        subjectFormat: publisher.subjectFormat ?? 'name',
      };
      const policy =
        branch === undefined
          ? githubTrustPolicy(
              props.oidcProvider.providerArn,
              'GithubPublishReleaseTags',
              subjects(repo, [`ref:refs/tags/${RELEASE_TAG_PATTERN}`]),
              undefined,
              'like',
            )
          : githubTrustPolicy(
              props.oidcProvider.providerArn,
              'GithubPublishDefaultBranch',
              subjects(repo, [`ref:refs/heads/${branch}`]),
            );
      const json = JSON.stringify(policy);
      trusts.push({ name: publisher.roleName, json, ...(branch !== undefined ? { branch } : {}) });
      const role = new IamRole(this, constructId, {
        name: publisher.roleName,
        description:
          branch === undefined
            ? `Gantry: pushes images from ${publisher.repository} release tags (${RELEASE_TAG_PATTERN})`
            : `Gantry: pushes images built on pushes to ${publisher.repository} ${branch}`,
        assumeRolePolicy: json,
        maxSessionDuration: session,
        tags: { 'gantry:role': branch === undefined ? 'publish' : 'publish-branch' },
        dependsOn: [...props.oidcProvider.dependables],
      });
      new IamRolePolicy(this, `${constructId}-push`, {
        name: 'ecr-push',
        role: role.name,
        policy: JSON.stringify(pushPolicy(publisher.repositoryArns)),
      });
      return role;
    };
    if (props.publisher) {
      this.publisherRole = roleFor(props.publisher, 'publisher');
      this.publisherRoleArn = arnOf(props.publisher.roleName);
    }
    if (props.branchPublisher) {
      const publisher = props.branchPublisher;
      this.branchPublisherRole = roleFor(publisher, 'branch-publisher', publisher.branch);
      this.branchPublisherRoleArn = arnOf(publisher.roleName);
    }
    const sourceArns: Record<string, string> = {};
    for (const source of props.sources ?? []) {
      roleFor(source, `source-${source.repository.replace(/[^A-Za-z0-9-]/g, '-')}`);
      sourceArns[source.repository] = arnOf(source.roleName);
    }
    this.sourceRoleArns = sourceArns;
    this.node.addValidation({
      validate: () =>
        trusts.flatMap((t) =>
          checkTrustPolicy(t.json, {
            roleKind: t.branch === undefined ? 'publish' : 'publish-branch',
            roleName: t.name,
            maxSessionDurationSeconds: session,
            ...(t.branch !== undefined ? { branch: t.branch } : {}),
          }).map((f) => `${this.node.path}: invariant ${f.invariant}: ${f.message}`),
        ),
    });
  }
}

function pushPolicy(repositoryArns: readonly string[]): Record<string, unknown> {
  return {
    Version: '2012-10-17',
    Statement: [
      // No resource type: "*" is the only form AWS accepts.
      { Sid: 'RegistryLogin', Effect: 'Allow', Action: ECR_LOGIN_ACTION, Resource: '*' },
      {
        Sid: 'PushImages',
        Effect: 'Allow',
        Action: [...ECR_PUSH_ACTIONS],
        Resource: [...repositoryArns].sort(),
      },
    ],
  };
}

function validate(path: string, props: PublishRolesProps): void {
  const problems = new ProblemList();
  if (isKnown(props.accountId)) problems.addIf(`${path}.accountId`, accountIdProblem(props.accountId));
  if (isKnown(props.region)) problems.addIf(`${path}.region`, regionProblem(props.region));
  const names = new Set<string>();
  const repositories = new Set<string>();
  const pushed = new Map<string, string>();
  // The branch publisher comes last: it may name the publisher's repository and push its ECR repositories.
  const all: (readonly [string, PublisherProps, string | undefined])[] = [
    ...(props.publisher ? [['publisher', props.publisher, undefined] as const] : []),
    ...(props.sources ?? []).map((s, i) => [`sources[${i}]`, s, undefined] as const),
    ...(props.branchPublisher
      ? [['branchPublisher', props.branchPublisher, props.branchPublisher.branch] as const]
      : []),
  ];
  problems.check(
    all.length > 0,
    path,
    'give a publisher, a branch publisher or at least one source repository',
  );
  for (const [at, p, branch] of all) {
    const ofBranch = at === 'branchPublisher';
    problems.check(
      typeof p?.roleName === 'string' && ROLE_NAME.test(p.roleName) && !names.has(p.roleName),
      `${path}.${at}.roleName`,
      `${show(p?.roleName)} is not an IAM role name of its own (1-64 of letters, digits and +=,.@_-)`,
    );
    names.add(p?.roleName);
    problems.check(
      typeof p?.repository === 'string' &&
        GITHUB_REPOSITORY.test(p.repository) &&
        (ofBranch || !repositories.has(p.repository)),
      `${path}.${at}.repository`,
      `${show(p?.repository)} must be one owner/name without wildcards, each repository once`,
    );
    repositories.add(p?.repository);
    if (ofBranch) {
      problems.check(
        typeof branch === 'string' && BRANCH.test(branch),
        `${path}.${at}.branch`,
        `${show(branch)} must be one literal branch name (letters, digits and ._/-, no wildcard, no refs/ prefix)`,
      );
    }
    if ((p?.subjectFormat ?? 'name') !== 'name') {
      problems.check(
        p.ownerId !== undefined && p.repositoryId !== undefined,
        `${path}.${at}.subjectFormat`,
        `${show(p.subjectFormat)} needs ownerId and repositoryId`,
      );
    }
    const arns = Array.isArray(p?.repositoryArns) ? p.repositoryArns : [];
    problems.check(
      arns.length > 0,
      `${path}.${at}.repositoryArns`,
      'empty, name at least one ECR repository ARN',
    );
    arns.forEach((arn, j) => {
      problems.check(
        REPOSITORY_ARN.test(arn),
        `${path}.${at}.repositoryArns[${j}]`,
        `${show(arn)} is not a literal ECR repository ARN (arn:aws:ecr:<region>:<account>:repository/<name>, no wildcards)`,
      );
      const other = pushed.get(arn);
      problems.check(
        other === undefined || (ofBranch && other === p.repository),
        `${path}.${at}.repositoryArns[${j}]`,
        ofBranch
          ? `${show(arn)} is pushed by source repository ${show(other)}; the default branch pushes only this repository's services`
          : `${show(arn)} is already pushed by ${show(other)}; each ECR repository has one publisher`,
      );
      if (!ofBranch) pushed.set(arn, p.repository);
    });
  }
  const session = props.maxSessionDurationSeconds ?? 3600;
  problems.check(
    Number.isInteger(session) && session >= 900 && session <= MAX_APPLY_SESSION_SECONDS,
    `${path}.maxSessionDurationSeconds`,
    `${show(session)} must be an integer from 900 to ${MAX_APPLY_SESSION_SECONDS}`,
  );
  if (Token.isUnresolved(props.oidcProvider.providerArn)) {
    problems.add(
      `${path}.oidcProvider`,
      'the provider ARN is a Terraform reference; trust policies must be literal JSON, give the computed ARN',
    );
  }
  problems.throwIfAny();
}
