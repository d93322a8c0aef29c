/**
 * The N-distinct-approvers rule. GitHub lets one approval release an environment; where an
 * environment requires N >= 2, `apply` reads the workflow run's approvals
 * (`GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals`) and proceeds only when N distinct
 * people other than the initiator approved. In the CodeBuild deploy project (the buildspec is fixed
 * in Terraform), the check runs inside the build, on the GitHub run that started it (see
 * `verifyApprovals`).
 */

/** The deploy build's handoff value, `{"commit", "tags", "run": {"id", "attempt"}}`. */
export const HANDOFF_ENV = 'GANTRY_IMAGE_TAGS';
/** In the deploy build: a token that can read the repository's Actions runs (from Secrets Manager). */
export const GITHUB_TOKEN_ENV = 'GANTRY_GITHUB_TOKEN';
/** In the deploy build: `owner/repo` of the runs. */
export const GITHUB_REPOSITORY_ENV = 'GANTRY_GITHUB_REPOSITORY';

function githubHeaders(token: string): Record<string, string> {
  return {
    Accept: 'application/vnd.github+json',
    Authorization: `Bearer ${token}`,
    'X-GitHub-Api-Version': '2022-11-28',
    'User-Agent': 'gantry',
  };
}

export interface ApprovalCheckInput {
  /** `GITHUB_API_URL`, e.g. `https://api.github.com`. */
  readonly apiUrl: string;
  readonly token: string;
  /** `owner/repo`. */
  readonly repository: string;
  readonly runId: string;
  /** Who started the run; their own approval never counts. */
  readonly initiators: readonly string[];
  readonly required: number;
  readonly fetchImpl?: typeof fetch;
}

export interface ApprovalCheck {
  readonly ok: boolean;
  /** Distinct approvers other than the initiator, sorted. */
  readonly approvers: readonly string[];
  /** Why not, when `ok` is false. */
  readonly reason?: string;
}

interface ApprovalEntry {
  readonly state?: string;
  readonly user?: { readonly login?: string } | null;
  readonly environments?: ReadonlyArray<{ readonly name?: string }>;
}

export async function checkApprovals(input: ApprovalCheckInput): Promise<ApprovalCheck> {
  const url = `${input.apiUrl.replace(/\/+$/, '')}/repos/${input.repository}/actions/runs/${encodeURIComponent(input.runId)}/approvals`;
  let entries: ApprovalEntry[];
  try {
    const response = await (input.fetchImpl ?? fetch)(url, {
      headers: githubHeaders(input.token),
    });
    if (!response.ok) {
      return {
        ok: false,
        approvers: [],
        reason: `cannot verify approvals: GET ${url} returned HTTP ${response.status}; the token needs actions:read`,
      };
    }
    const body = (await response.json()) as unknown;
    if (!Array.isArray(body)) {
      return {
        ok: false,
        approvers: [],
        reason: `cannot verify approvals: GET ${url} did not return a list`,
      };
    }
    entries = body as ApprovalEntry[];
  } catch (error) {
    return {
      ok: false,
      approvers: [],
      reason: `cannot verify approvals: GET ${url} failed: ${(error as Error).message}`,
    };
  }
  const excluded = new Set(input.initiators.map((i) => i.toLowerCase()));
  const initiators = input.initiators.filter(
    (i, n) => input.initiators.findIndex((j) => j.toLowerCase() === i.toLowerCase()) === n,
  );
  const approvers = new Map<string, string>();
  for (const entry of entries) {
    const login = entry.user?.login;
    if (entry.state !== 'approved' || !login) continue;
    if (excluded.has(login.toLowerCase())) continue;
    if (!approvers.has(login.toLowerCase())) approvers.set(login.toLowerCase(), login);
  }
  const list = [...approvers.values()].sort();
  if (list.length >= input.required) return { ok: true, approvers: list };
  return {
    ok: false,
    approvers: list,
    reason:
      `${input.required} distinct approvers other than the initiator (${initiators.join(', ') || 'unknown'}) are required, ` +
      `${list.length} approved${list.length ? ` (${list.join(', ')})` : ''}`,
  };
}

/** The GitHub run a deploy build was started by, as the apply workflow hands it over. */
export interface HandoffRun {
  readonly commit: string;
  readonly runId: string;
  readonly runAttempt: number | null;
}

/**
 * The run identity in the deploy project's handoff value (`GANTRY_IMAGE_TAGS`,
 * `{"commit": "<sha>", "tags": {...}, "run": {"id": <run id>, "attempt": <attempt>}}`), or why
 * there is none. Only the commit and the run are read here; the tags are `gantry plan`'s.
 */
export function handoffRun(raw: string | undefined): HandoffRun | string {
  if (raw === undefined || raw.trim() === '') return `${HANDOFF_ENV} is not set`;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return `${HANDOFF_ENV} is not JSON`;
  }
  const object = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!object(value) || typeof value.commit !== 'string' || value.commit.trim() === '') {
    return `${HANDOFF_ENV} names no commit`;
  }
  const run = value.run;
  const id = object(run) ? run.id : undefined;
  const runId = typeof id === 'number' || typeof id === 'string' ? String(id) : '';
  if (!/^\d+$/.test(runId)) {
    return `${HANDOFF_ENV} (commit ${value.commit}) names no GitHub run (run.id: ${JSON.stringify(id ?? null)}, expected a run id)`;
  }
  const attempt = object(run) ? Number(run.attempt) : NaN;
  return {
    commit: value.commit.trim(),
    runId,
    runAttempt: Number.isInteger(attempt) && attempt > 0 ? attempt : null,
  };
}

/** Where the approvals were verified, for the log line. */
export interface VerifiedApprovals extends ApprovalCheck {
  /** e.g. `GitHub run 102` or `GitHub run 102 (attempt 1), which started this deploy build`. */
  readonly source?: string;
}

export interface VerifyApprovalsInput {
  readonly env: NodeJS.ProcessEnv;
  /** The commit being applied. */
  readonly commit: string;
  readonly environment: string | null;
  readonly required: number;
  readonly fetchImpl?: typeof fetch;
}

interface RunEntry {
  readonly head_sha?: string;
  readonly status?: string;
  readonly actor?: { readonly login?: string } | null;
  readonly triggering_actor?: { readonly login?: string } | null;
}

const refused = (reason: string): VerifiedApprovals => ({ ok: false, approvers: [], reason });

/**
 * The N-distinct-approvers rule where `gantry apply` runs:
 *
 * - in GitHub Actions, on this run (`GITHUB_RUN_ID`, `GITHUB_TOKEN` with `actions: read`);
 * - in the CodeBuild deploy build (`CODEBUILD_BUILD_ID`), on the GitHub run that started it, named
 *   by the handoff value (`GANTRY_IMAGE_TAGS`) written for this very commit, read with
 *   `GANTRY_GITHUB_TOKEN` (Secrets Manager) in `GANTRY_GITHUB_REPOSITORY`: the run's `head_sha`
 *   must be the commit, it must still be in progress (it waits for this build), and its initiator
 *   (`triggering_actor`, and `actor`) never counts;
 * - anywhere else, never: refused.
 *
 * The token is sent to the API only; no message carries it.
 */
export async function verifyApprovals(input: VerifyApprovalsInput): Promise<VerifiedApprovals> {
  const { env, required } = input;
  const apiUrl = (env.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, '');
  if (env.GITHUB_ACTIONS === 'true') {
    const missing = ['GITHUB_REPOSITORY', 'GITHUB_RUN_ID', 'GITHUB_TOKEN'].filter((name) => !env[name]);
    if (missing.length > 0) return refused(`cannot verify approvals: ${missing.join(', ')} not set`);
    const check = await checkApprovals({
      apiUrl,
      token: env.GITHUB_TOKEN ?? '',
      repository: env.GITHUB_REPOSITORY ?? '',
      runId: env.GITHUB_RUN_ID ?? '',
      initiators: [env.GITHUB_TRIGGERING_ACTOR, env.GITHUB_ACTOR].filter((a): a is string => Boolean(a)),
      required,
      fetchImpl: input.fetchImpl,
    });
    return { ...check, source: `GitHub run ${env.GITHUB_RUN_ID ?? ''}` };
  }
  if (!env.CODEBUILD_BUILD_ID) {
    return refused(
      `environment ${input.environment ?? 'unknown'} requires ${required} distinct approvers, which gantry verifies on the GitHub Actions run ` +
        '(or, in the CodeBuild deploy project, on the run that started the build); run apply from the workflow',
    );
  }
  const handoff = handoffRun(env[HANDOFF_ENV]);
  if (typeof handoff === 'string') {
    return refused(
      `cannot verify approvals in deploy build ${env.CODEBUILD_BUILD_ID}: ${handoff}; ` +
        'start the build from the apply workflow, which writes the commit and its run to the image-tags parameter',
    );
  }
  if (handoff.commit.toLowerCase() !== input.commit.trim().toLowerCase()) {
    return refused(
      `cannot verify approvals in deploy build ${env.CODEBUILD_BUILD_ID}: ${HANDOFF_ENV} names GitHub run ${handoff.runId} ` +
        `for commit ${handoff.commit}, this build applies commit ${input.commit}; start the build from the apply workflow at this commit`,
    );
  }
  const token = env[GITHUB_TOKEN_ENV];
  if (!token) {
    return refused(
      `cannot verify approvals in deploy build ${env.CODEBUILD_BUILD_ID}: ${GITHUB_TOKEN_ENV} is not set; ` +
        "give runners.deploy.githubTokenSecretArn (a token that can read the repository's Actions runs)",
    );
  }
  const repository = env[GITHUB_REPOSITORY_ENV];
  if (!repository || !/^[A-Za-z0-9][A-Za-z0-9-]*\/[A-Za-z0-9._-]+$/.test(repository)) {
    return refused(
      `cannot verify approvals in deploy build ${env.CODEBUILD_BUILD_ID}: ${GITHUB_REPOSITORY_ENV} is ${JSON.stringify(repository ?? null)}, expected owner/name`,
    );
  }
  const url = `${apiUrl}/repos/${repository}/actions/runs/${handoff.runId}`;
  let run: RunEntry;
  try {
    const response = await (input.fetchImpl ?? fetch)(url, { headers: githubHeaders(token) });
    if (!response.ok) {
      return refused(
        `cannot verify approvals: GET ${url} returned HTTP ${response.status}; the token needs read access to the repository's Actions runs`,
      );
    }
    run = (await response.json()) as RunEntry;
  } catch (error) {
    return refused(`cannot verify approvals: GET ${url} failed: ${(error as Error).message}`);
  }
  if ((run.head_sha ?? '').toLowerCase() !== input.commit.trim().toLowerCase()) {
    return refused(
      `GitHub run ${handoff.runId} is for commit ${run.head_sha ?? 'unknown'}, this build applies commit ${input.commit}: its approvals do not cover this commit`,
    );
  }
  if (run.status === 'completed') {
    return refused(
      `GitHub run ${handoff.runId} is completed; the run that started this deploy build is still in progress: start the build from the apply workflow`,
    );
  }
  const initiators = [run.triggering_actor?.login, run.actor?.login].filter((a): a is string => Boolean(a));
  if (initiators.length === 0) {
    return refused(
      `GitHub run ${handoff.runId} names no initiator (triggering_actor, actor); its approvals cannot be counted`,
    );
  }
  const check = await checkApprovals({
    apiUrl,
    token,
    repository,
    runId: handoff.runId,
    initiators,
    required,
    fetchImpl: input.fetchImpl,
  });
  const attempt = handoff.runAttempt !== null ? ` (attempt ${handoff.runAttempt})` : '';
  return { ...check, source: `GitHub run ${handoff.runId}${attempt}, which started this deploy build` };
}
