/**
 * Who, what and where of a run, read from the CI's environment: GitHub Actions (`GITHUB_*`),
 * CodeBuild (`CODEBUILD_*`) or a workstation (git and `USER`). `GANTRY_*` variables win.
 */
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';

export interface RunContext {
  readonly commitSha: string | null;
  readonly ref: string | null;
  readonly actor: string | null;
  /** The user who triggered the run (GitHub's `GITHUB_TRIGGERING_ACTOR`), for the approval rule. */
  readonly initiator: string | null;
  readonly ciRunId: string | null;
  readonly ciRunAttempt: number | null;
  readonly ciRunUrl: string | null;
  readonly roleArn: string | null;
  readonly accountId: string | null;
  readonly host: string;
  readonly pid: number;
}

const first = (...values: Array<string | undefined>) =>
  values.find((v) => v !== undefined && v !== '') ?? null;

function gitHead(cwd: string): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return null;
  }
}

export function readRunContext(env: NodeJS.ProcessEnv, cwd: string): RunContext {
  const github = env.GITHUB_ACTIONS === 'true';
  const ciRunUrl =
    github && env.GITHUB_RUN_ID && env.GITHUB_REPOSITORY
      ? `${env.GITHUB_SERVER_URL ?? 'https://github.com'}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
      : first(env.CODEBUILD_BUILD_URL);
  const roleArn = first(env.GANTRY_ROLE_ARN, env.AWS_ROLE_ARN);
  const attempt = first(
    env.GANTRY_CI_RUN_ATTEMPT,
    github ? env.GITHUB_RUN_ATTEMPT : undefined,
    env.CODEBUILD_BUILD_NUMBER,
  );
  return {
    commitSha:
      first(
        env.GANTRY_COMMIT_SHA,
        github ? env.GITHUB_SHA : undefined,
        env.CODEBUILD_RESOLVED_SOURCE_VERSION,
      ) ?? gitHead(cwd),
    ref: first(
      env.GANTRY_REF,
      github ? env.GITHUB_REF : undefined,
      env.CODEBUILD_WEBHOOK_HEAD_REF,
      env.CODEBUILD_SOURCE_VERSION,
    ),
    actor: first(
      env.GANTRY_ACTOR,
      github ? env.GITHUB_ACTOR : undefined,
      env.CODEBUILD_INITIATOR,
      env.USER,
      env.LOGNAME,
    ),
    initiator: first(env.GITHUB_TRIGGERING_ACTOR, env.GITHUB_ACTOR),
    ciRunId: first(env.GANTRY_CI_RUN_ID, github ? env.GITHUB_RUN_ID : undefined, env.CODEBUILD_BUILD_ID),
    ciRunAttempt: attempt !== null && /^\d+$/.test(attempt) ? Number(attempt) : null,
    ciRunUrl,
    roleArn,
    accountId:
      first(env.GANTRY_ACCOUNT_ID) ??
      (roleArn ? (/^arn:[^:]+:iam::(\d{12}):/.exec(roleArn)?.[1] ?? null) : null),
    host: os.hostname(),
    pid: process.pid,
  };
}
