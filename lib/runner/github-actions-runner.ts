import { CodebuildWebhook } from '@cdktf/provider-aws/lib/codebuild-webhook';
import type { Construct } from 'constructs';
import { FieldProblems, show, throwProblems, type FieldProblem } from '../core/errors';
import { Policy } from '../policy/policy';
import {
  BuildProjectConstruct,
  buildProjectProblems,
  buildSettingsProblems,
  type BuildProjectProps,
  type BuildSettings,
} from './private/build-project';

/** The runner's settings (the configuration's `runners.githubActions`). */
export interface GithubActionsRunnerSettings extends BuildSettings {
  /**
   * Only jobs of these workflows (their `name:`) start a runner. Required: a runner open to every workflow
   * runs any job any branch adds with the project's role.
   */
  readonly workflowNames: readonly string[];
  /**
   * Only jobs whose triggering account (the webhook's `sender.id`, a numeric GitHub user id) is one of these
   * start a runner. Required: it is what keeps a pull request of anyone else, a fork's included, off the runner.
   */
  readonly actorIds: readonly number[];
  /** Docker-in-Docker for image builds; needs a reason of 10+ characters. @default off */
  readonly privileged?: { readonly reason: string };
}

export interface GithubActionsRunnerProps extends BuildProjectProps, GithubActionsRunnerSettings {}

const MIN_REASON_LENGTH = 10;

/**
 * A CodeBuild-hosted GitHub Actions runner. A webhook starts a build on a `WORKFLOW_JOB_QUEUED` event of
 * the repository only for the named workflows and the named actors (docs/security.md, invariant 30); a job's
 * `runs-on: codebuild-<project>-${{ github.run_id }}-${{ github.run_attempt }}` label routes it here
 * (`labelPrefix`). Runs in private subnets behind an egress-only security group, logs to a KMS-encrypted
 * log group with a retention, encrypts artifacts with the environment's key, and never runs privileged
 * unless given a reason (recorded as a `GANTRY-CB-001` suppression).
 */
export class GithubActionsRunner extends BuildProjectConstruct {
  /** The `runs-on` label prefix, `codebuild-<project>`. */
  public readonly labelPrefix: string;
  public readonly webhook: CodebuildWebhook;

  constructor(scope: Construct, id: string, props: GithubActionsRunnerProps) {
    super(scope, id);
    throwProblems(this.node.path, [
      ...buildProjectProblems(props),
      ...githubActionsRunnerSettingsProblems(props, false),
    ]);
    const privileged = props.privileged;
    this.build(
      props,
      {},
      {
        description: `GitHub Actions runner for ${props.repository}${privileged ? ` (privileged: ${privileged.reason.trim()})` : ''}`,
        privileged: privileged !== undefined,
      },
    );
    this.labelPrefix = `codebuild-${props.projectName}`;
    if (privileged) {
      // Privileged mode is the one part of invariant 15 a runner may waive, and only with a reason.
      Policy.suppress(this.project, 'GANTRY-CB-001', `privileged mode: ${privileged.reason.trim()}`);
    }
    const filters = [
      { type: 'EVENT', pattern: 'WORKFLOW_JOB_QUEUED' },
      { type: 'WORKFLOW_NAME', pattern: workflowNamePattern(props.workflowNames) },
      { type: 'ACTOR_ACCOUNT_ID', pattern: actorIdPattern(props.actorIds) },
    ];
    this.webhook = new CodebuildWebhook(this, 'webhook', {
      projectName: this.project.name,
      buildType: 'BUILD',
      filterGroup: [{ filter: filters }],
    });
  }
}

/** `^(?:Build|Deploy app)$`, each name escaped: WORKFLOW_NAME patterns are regular expressions. */
export function workflowNamePattern(names: readonly string[]): string {
  const escaped = [...new Set(names)].map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return `^(?:${escaped.join('|')})$`;
}

/** `^(?:1000101|1000102)$`: the webhook's actor filter. */
export function actorIdPattern(ids: readonly number[]): string {
  return `^(?:${[...new Set(ids)].join('|')})$`;
}

/**
 * Problems of the runner's settings (shared with the configuration's `runners.githubActions`);
 * `withBuildSettings` adds the checks of connection, compute type, image and timeout.
 */
export function githubActionsRunnerSettingsProblems(
  settings: GithubActionsRunnerSettings,
  withBuildSettings = true,
): FieldProblem[] {
  const problems = new FieldProblems();
  if (withBuildSettings) problems.addAll('', buildSettingsProblems(settings));
  if (settings.privileged !== undefined) {
    const reason = settings.privileged?.reason?.trim() ?? '';
    problems.check(
      reason.length >= MIN_REASON_LENGTH,
      'privileged.reason',
      `${show(settings.privileged?.reason)}: privileged mode needs a reason of at least ${MIN_REASON_LENGTH} characters (e.g. "builds container images with docker")`,
    );
  }
  problems.check(
    Array.isArray(settings.workflowNames) && settings.workflowNames.length > 0,
    'workflowNames',
    'not given; name the workflows whose jobs may run on the runner (a runner open to every workflow runs any job any branch adds, with its role)',
  );
  problems.check(
    Array.isArray(settings.actorIds) && settings.actorIds.length > 0,
    'actorIds',
    "not given; name the GitHub user ids whose jobs may start the runner (the webhook's sender), so no one else's pull request does",
  );
  for (const id of settings.actorIds ?? []) {
    problems.check(Number.isSafeInteger(id) && id > 0, 'actorIds', `${show(id)} is not a GitHub user id`);
  }
  for (const name of settings.workflowNames ?? []) {
    problems.check(
      typeof name === 'string' && name.trim().length > 0 && !/[\r\n]/.test(name),
      'workflowNames',
      `${show(name)} is not a workflow name (non-empty, one line)`,
    );
  }
  return problems.list;
}
