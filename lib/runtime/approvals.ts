/**
 * The N-distinct-approvers rule. GitHub lets one approval release an environment; where an
 * environment requires N >= 2, `apply` reads the workflow run's approvals
 * (`GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals`) and proceeds only when N distinct
 * people other than the initiator approved. In the CodeBuild deploy project (the buildspec is fixed
 * in Terraform), the check runs inside the build, on the GitHub run that started it (see
 * `verifyApprovals`).
 *
 * What GitHub's REST API gives, and what this relies on: the run object (`path`, `event`,
 * `head_branch`, `head_sha`, `status`, `run_attempt`, `actor`, `triggering_actor`) and the run's
 * review history, whose entries carry `state`, `user` (`login`, `type`), `environments` (`name`) and
 * `comment`, but no time and no attempt number. So only a run's first attempt can be counted
 * (`checkRun`), and each approval counts for the gate environments it names (`countApprovals`).
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

/** The generated apply workflow, where the gates are (`lib/workflows`): approvals of any other workflow never count. */
export const APPLY_WORKFLOW_PATH = '.github/workflows/terraform-apply.yml';

export interface ApprovalCheckInput {
  /** `GITHUB_API_URL`, e.g. `https://api.github.com`. */
  readonly apiUrl: string;
  readonly token: string;
  /** `owner/repo`. */
  readonly repository: string;
  readonly runId: string;
  /** Who started the run; their own approval never counts. */
  readonly initiators: readonly string[];
  /**
   * The GitHub Environments the deployment passes, in order (`environmentChain`: `prod-approval`,
   * `prod`): each needs its own approver, and one person counts for one gate only.
   */
  readonly gateEnvironments: readonly string[];
  readonly fetchImpl?: typeof fetch;
}

export interface ApprovalCheck {
  readonly ok: boolean;
  /** The approvers counted, one per gate environment, sorted. */
  readonly approvers: readonly string[];
  /** Why not, when `ok` is false. */
  readonly reason?: string;
}

/** One entry of `GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals` (the run's review history). */
export interface ApprovalEntry {
  readonly state?: string;
  readonly user?: { readonly login?: string; readonly type?: string } | null;
  readonly environments?: ReadonlyArray<{ readonly name?: string }>;
}

/** A GitHub App or an Actions bot: never a reviewer whose approval counts. */
export function isBot(user: { readonly login?: string; readonly type?: string }): boolean {
  return user.type === 'Bot' || /\[bot\]$/i.test(user.login ?? '');
}

/**
 * One distinct person per gate environment: an approval counts for a gate only when its
 * `environments` name that gate, and a person who approved two gates fills one of them. The gates
 * are filled by a maximum matching (a person approving both gates takes the one nobody else
 * approved), never by the order of the review history.
 */
export function countApprovals(
  entries: readonly ApprovalEntry[],
  gates: readonly string[],
  initiators: readonly string[],
): ApprovalCheck {
  const excluded = new Set(initiators.map((i) => i.toLowerCase()));
  const shownInitiators = initiators.filter(
    (i, n) => initiators.findIndex((j) => j.toLowerCase() === i.toLowerCase()) === n,
  );
  const display = new Map<string, string>();
  /** gate -> people (lowercased logins) whose approval names it. */
  const byGate = new Map<string, Set<string>>(gates.map((g) => [g, new Set<string>()]));
  const notCounted = new Map<string, string>();
  for (const entry of entries) {
    const login = entry.user?.login;
    if (entry.state !== 'approved' || !login || !entry.user) continue;
    const key = login.toLowerCase();
    if (isBot(entry.user)) {
      notCounted.set(key, `${login} (a bot)`);
      continue;
    }
    if (excluded.has(key)) {
      notCounted.set(key, `${login} (the initiator)`);
      continue;
    }
    const named = (entry.environments ?? []).map((e) => e.name).filter((n): n is string => Boolean(n));
    const mine = named.filter((n) => byGate.has(n));
    if (mine.length === 0) {
      if (!display.has(key))
        notCounted.set(key, `${login} (approved ${named.join(', ') || 'no environment'}, not a gate)`);
      continue;
    }
    notCounted.delete(key);
    if (!display.has(key)) display.set(key, login);
    for (const gate of mine) byGate.get(gate)?.add(key);
  }
  // Kuhn's augmenting paths: gates x people, at most a handful each.
  const holder = new Map<string, string>();
  const assign = (gate: string, seen: Set<string>): boolean => {
    for (const person of byGate.get(gate) ?? []) {
      if (seen.has(person)) continue;
      seen.add(person);
      const current = holder.get(person);
      if (current === undefined || assign(current, seen)) {
        holder.set(person, gate);
        return true;
      }
    }
    return false;
  };
  for (const gate of gates) assign(gate, new Set());
  const approvers = [...holder.keys()].map((k) => display.get(k) ?? k).sort();
  if (holder.size === gates.length) return { ok: true, approvers };
  const perGate = gates
    .map((g) => {
      const people = [...(byGate.get(g) ?? [])].map((k) => display.get(k) ?? k).sort();
      return `${g}: ${people.length ? `approved by ${people.join(', ')}` : 'no counted approval'}`;
    })
    .join('; ');
  const ignored = notCounted.size ? `; not counted: ${[...notCounted.values()].sort().join(', ')}` : '';
  return {
    ok: false,
    approvers,
    reason:
      `${gates.length} distinct approvers other than the initiator (${shownInitiators.join(', ') || 'unknown'}) are required, ` +
      `one per gate environment (${gates.join(', ')}), ${approvers.length} counted` +
      `${approvers.length ? ` (${approvers.join(', ')})` : ''}: ${perGate}${ignored}`,
  };
}

/** GET a GitHub API URL as JSON, or the reason it could not be read. */
async function getJson(
  url: string,
  token: string,
  fetchImpl: typeof fetch | undefined,
  needs: string,
): Promise<{ body: unknown } | { reason: string }> {
  try {
    const response = await (fetchImpl ?? fetch)(url, { headers: githubHeaders(token) });
    if (!response.ok) {
      return { reason: `cannot verify approvals: GET ${url} returned HTTP ${response.status}; ${needs}` };
    }
    return { body: (await response.json()) as unknown };
  } catch (error) {
    return { reason: `cannot verify approvals: GET ${url} failed: ${(error as Error).message}` };
  }
}

/** The run's review history, counted per gate environment (see `countApprovals`). */
export async function checkApprovals(input: ApprovalCheckInput): Promise<ApprovalCheck> {
  const url = `${input.apiUrl.replace(/\/+$/, '')}/repos/${input.repository}/actions/runs/${encodeURIComponent(input.runId)}/approvals`;
  if (input.gateEnvironments.length === 0 || input.gateEnvironments.some((g) => g.trim() === '')) {
    return {
      ok: false,
      approvers: [],
      reason: `cannot verify approvals: the gate environments are not known (${JSON.stringify(input.gateEnvironments)})`,
    };
  }
  const got = await getJson(url, input.token, input.fetchImpl, 'the token needs actions:read');
  if ('reason' in got) return { ok: false, approvers: [], reason: got.reason };
  if (!Array.isArray(got.body)) {
    return { ok: false, approvers: [], reason: `cannot verify approvals: GET ${url} did not return a list` };
  }
  return countApprovals(got.body as ApprovalEntry[], input.gateEnvironments, input.initiators);
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
  /**
   * The GitHub Environments of the deployment, in order (`environmentChain(environment, required)`,
   * e.g. `['prod-approval', 'prod']`): one distinct approver per gate. Its length must be `required`.
   */
  readonly gateEnvironments: readonly string[];
  /** The apply workflow's path in the repository (`APPLY_WORKFLOW_PATH` for the generated one). */
  readonly workflowPath: string;
  /** The events that run that workflow for this environment, e.g. `['workflow_dispatch']`. */
  readonly allowedEvents: readonly string[];
  /** The repository's default branch: the run's `head_branch` must be it. */
  readonly defaultBranch: string;
  readonly fetchImpl?: typeof fetch;
}

/** The fields of `GET /repos/{owner}/{repo}/actions/runs/{run_id}` the check reads. */
export interface RunEntry {
  readonly head_sha?: string;
  readonly head_branch?: string | null;
  readonly status?: string;
  readonly event?: string;
  readonly path?: string;
  readonly run_attempt?: number;
  readonly actor?: { readonly login?: string } | null;
  readonly triggering_actor?: { readonly login?: string } | null;
}

/** What the run must be for its approvals to count. */
export interface RunExpectations {
  readonly runId: string;
  readonly repository: string;
  readonly commit: string;
  /** The attempt the caller belongs to (`GITHUB_RUN_ATTEMPT`, the handoff's), when it knows it. */
  readonly attempt: number | null;
  readonly workflowPath: string;
  readonly allowedEvents: readonly string[];
  readonly defaultBranch: string;
}

const refused = (reason: string): VerifiedApprovals => ({ ok: false, approvers: [], reason });

/** The facts the check needs from the caller; missing ones refuse (fail closed). */
function missingFacts(input: VerifyApprovalsInput): string | null {
  const problems: string[] = [];
  const gates = input.gateEnvironments;
  if (gates.length === 0 || gates.some((g) => g.trim() === '')) {
    problems.push(`the gate environments are not known (${JSON.stringify(gates)})`);
  } else if (gates.length !== input.required) {
    problems.push(
      `${gates.length} gate environment(s) (${gates.join(', ')}) for ${input.required} required approvals: one person per gate`,
    );
  }
  if (input.workflowPath.trim() === '') problems.push('the apply workflow path is not known');
  if (input.allowedEvents.length === 0) problems.push('the events that run the apply workflow are not known');
  if (input.defaultBranch.trim() === '') problems.push('the default branch is not known');
  return problems.length ? `cannot verify approvals: ${problems.join('; ')}` : null;
}

/**
 * The run whose approvals are counted must be the generated apply workflow (`path`), started by an
 * expected event on the default branch, at the commit being applied, still in progress, and its
 * first attempt. GitHub's review history (`/approvals`) carries no attempt number and no time, so
 * the approvals of a re-run cannot be told from those given to an earlier attempt: a re-run is
 * refused, and a new run is dispatched instead.
 */
export function checkRun(run: RunEntry, expected: RunExpectations): string | null {
  const id = `GitHub run ${expected.runId}`;
  const path = run.path ?? '';
  const qualified = new RegExp(
    `^${escapeRegExp(expected.repository)}/${escapeRegExp(expected.workflowPath)}@(refs/heads/)?${escapeRegExp(expected.defaultBranch)}$`,
    'i',
  );
  if (path !== expected.workflowPath && !qualified.test(path)) {
    return `${id} is workflow ${JSON.stringify(run.path ?? null)}, not the apply workflow ${expected.workflowPath}: its approvals do not count`;
  }
  if (!run.event || !expected.allowedEvents.includes(run.event)) {
    return `${id} was started by ${JSON.stringify(run.event ?? null)}, the apply workflow deploys from ${expected.allowedEvents.join(' or ')}: its approvals do not count`;
  }
  if (run.head_branch !== expected.defaultBranch) {
    return `${id} runs on branch ${JSON.stringify(run.head_branch ?? null)}, not the default branch ${expected.defaultBranch}: its approvals do not count`;
  }
  if ((run.head_sha ?? '').toLowerCase() !== expected.commit.trim().toLowerCase()) {
    return `${id} is for commit ${run.head_sha ?? 'unknown'}, the commit being applied is ${expected.commit}: its approvals do not cover it`;
  }
  if (run.status === 'completed') {
    return `${id} is completed; the run whose approvals count is still in progress, waiting for this apply: start the apply from the apply workflow`;
  }
  const attempt = run.run_attempt;
  if (typeof attempt !== 'number' || !Number.isInteger(attempt) || attempt < 1) {
    return `${id} names no run_attempt: the approvals of its current attempt cannot be told apart`;
  }
  if (expected.attempt !== null && expected.attempt !== attempt) {
    return `${id} is at attempt ${attempt}, this apply belongs to attempt ${expected.attempt}: only the current attempt's approvals count`;
  }
  if (attempt > 1) {
    return (
      `${id} is attempt ${attempt} (a re-run): GitHub's review history does not say which attempt an approval was given in, ` +
      "so approvals of earlier attempts cannot be told from this one's; dispatch a new run of the apply workflow"
    );
  }
  return null;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The N-distinct-approvers rule where `gantry apply` runs:
 *
 * - in GitHub Actions, on this run (`GITHUB_RUN_ID`, `GITHUB_TOKEN` with `actions: read`);
 * - in the CodeBuild deploy build (`CODEBUILD_BUILD_ID`), on the GitHub run that started it, named
 *   by the handoff value (`GANTRY_IMAGE_TAGS`) written for this very commit, read with
 *   `GANTRY_GITHUB_TOKEN` (Secrets Manager) in `GANTRY_GITHUB_REPOSITORY`;
 * - anywhere else, never: refused.
 *
 * Either way the run is read first and must pass `checkRun` (the apply workflow, an expected event,
 * the default branch, this commit, in progress, its first attempt), its initiator
 * (`triggering_actor`, and `actor`) never counts, and the approvals are counted per gate
 * environment (`countApprovals`). The token is sent to the API only; no message carries it.
 */
export async function verifyApprovals(input: VerifyApprovalsInput): Promise<VerifiedApprovals> {
  const { env, required } = input;
  const apiUrl = (env.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, '');
  const missing = missingFacts(input);
  if (missing) return refused(missing);
  if (env.GITHUB_ACTIONS === 'true') {
    const unset = ['GITHUB_REPOSITORY', 'GITHUB_RUN_ID', 'GITHUB_TOKEN'].filter((name) => !env[name]);
    if (unset.length > 0) return refused(`cannot verify approvals: ${unset.join(', ')} not set`);
    const attempt = Number(env.GITHUB_RUN_ATTEMPT);
    const check = await checkRunAndApprovals(input, {
      apiUrl,
      token: env.GITHUB_TOKEN ?? '',
      repository: env.GITHUB_REPOSITORY ?? '',
      runId: env.GITHUB_RUN_ID ?? '',
      attempt: Number.isInteger(attempt) && attempt > 0 ? attempt : null,
      initiators: [env.GITHUB_TRIGGERING_ACTOR, env.GITHUB_ACTOR].filter((a): a is string => Boolean(a)),
      needs: 'the token needs actions:read',
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
  if (handoff.runAttempt === null) {
    return refused(
      `cannot verify approvals in deploy build ${env.CODEBUILD_BUILD_ID}: ${HANDOFF_ENV} names GitHub run ${handoff.runId} ` +
        "but not its attempt (run.attempt); only the current attempt's approvals count: start the build from the apply workflow",
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
  const check = await checkRunAndApprovals(input, {
    apiUrl,
    token,
    repository,
    runId: handoff.runId,
    attempt: handoff.runAttempt,
    initiators: [],
    needs: "the token needs read access to the repository's Actions runs",
  });
  return {
    ...check,
    source: `GitHub run ${handoff.runId} (attempt ${handoff.runAttempt}), which started this deploy build`,
  };
}

/** Reads the run, checks it (`checkRun`), then counts its approvals without its initiators. */
async function checkRunAndApprovals(
  input: VerifyApprovalsInput,
  where: {
    readonly apiUrl: string;
    readonly token: string;
    readonly repository: string;
    readonly runId: string;
    readonly attempt: number | null;
    /** Known initiators besides the run's own `triggering_actor` and `actor`. */
    readonly initiators: readonly string[];
    readonly needs: string;
  },
): Promise<ApprovalCheck> {
  const url = `${where.apiUrl}/repos/${where.repository}/actions/runs/${encodeURIComponent(where.runId)}`;
  const got = await getJson(url, where.token, input.fetchImpl, where.needs);
  if ('reason' in got) return refused(got.reason);
  const run = (typeof got.body === 'object' && got.body !== null ? got.body : {}) as RunEntry;
  const wrong = checkRun(run, {
    runId: where.runId,
    repository: where.repository,
    commit: input.commit,
    attempt: where.attempt,
    workflowPath: input.workflowPath,
    allowedEvents: input.allowedEvents,
    defaultBranch: input.defaultBranch,
  });
  if (wrong) return refused(wrong);
  const initiators = [run.triggering_actor?.login, run.actor?.login, ...where.initiators].filter(
    (a): a is string => Boolean(a),
  );
  if (initiators.length === 0) {
    return refused(
      `GitHub run ${where.runId} names no initiator (triggering_actor, actor); its approvals cannot be counted`,
    );
  }
  return checkApprovals({
    apiUrl: where.apiUrl,
    token: where.token,
    repository: where.repository,
    runId: where.runId,
    initiators,
    gateEnvironments: input.gateEnvironments,
    fetchImpl: input.fetchImpl,
  });
}
