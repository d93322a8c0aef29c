/**
 * The N-distinct-approvers rule. GitHub lets one approval release an environment; where an
 * environment requires N >= 2, `apply` reads the workflow run's approvals
 * (`GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals`) and proceeds only when N distinct
 * people other than the initiator approved.
 */

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
      headers: {
        Accept: 'application/vnd.github+json',
        Authorization: `Bearer ${input.token}`,
        'X-GitHub-Api-Version': '2022-11-28',
        'User-Agent': 'gantry',
      },
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
      `${input.required} distinct approvers other than the initiator (${input.initiators.join(', ') || 'unknown'}) are required, ` +
      `${list.length} approved${list.length ? ` (${list.join(', ')})` : ''}`,
  };
}
