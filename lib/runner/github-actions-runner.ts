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
  /** Only jobs of these workflows start a runner. @default every workflow of the repository */
  readonly workflowNames?: readonly string[];
  /** Docker-in-Docker for image builds; needs a reason of 10+ characters. @default off */
  readonly privileged?: { readonly reason: string };
}

export interface GithubActionsRunnerProps extends BuildProjectProps, GithubActionsRunnerSettings {}

const MIN_REASON_LENGTH = 10;

/**
 * A CodeBuild-hosted GitHub Actions runner. A webhook starts a build on every `WORKFLOW_JOB_QUEUED` event
 * of the repository (optionally only for some workflows); a job's
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
    const filters = [{ type: 'EVENT', pattern: 'WORKFLOW_JOB_QUEUED' }];
    if (props.workflowNames && props.workflowNames.length > 0) {
      filters.push({ type: 'WORKFLOW_NAME', pattern: workflowNamePattern(props.workflowNames) });
    }
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
  for (const name of settings.workflowNames ?? []) {
    problems.check(
      typeof name === 'string' && name.trim().length > 0 && !/[\r\n]/.test(name),
      'workflowNames',
      `${show(name)} is not a workflow name (non-empty, one line)`,
    );
  }
  return problems.list;
}
