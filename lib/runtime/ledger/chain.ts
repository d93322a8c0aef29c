/**
 * The ledger's hash chain: tamper evidence for `terraform_runs`.
 *
 * Every finished row gets a link: a number in one gap-free sequence (`chain_seq`) and a SHA-256
 * (`chain_hash`) over a canonical serialisation of the row's final columns and the previous link's
 * hash. Acknowledging an abandoned apply adds a second link to that row (`ack_chain_seq`,
 * `ack_chain_hash`) over its acknowledgement columns. The database writes the links itself (a
 * deferred constraint trigger, `terraform_runs_chain_link`, at commit of the transaction that
 * finishes the row), holding the one-row chain head `terraform_runs_chain_head` FOR UPDATE, so
 * concurrent finishes queue on the head and cannot fork the chain.
 *
 * `verifyChain` recomputes every link here, in Node's crypto, from the columns as text (never with
 * the database's own functions, which whoever can edit the rows can also replace), and reports
 * a missing link (a deleted row), a hash mismatch (an edited row), a head that does not match the
 * last link (rows deleted at the end), and finished rows that should have a link and have none.
 *
 * What it cannot see: someone with the owner's rights who rewrites every link from the edited row
 * to the head. Record the head (`gantry ledger verify` prints it) somewhere they cannot write, and
 * pass it back as `--anchor <link>:<hash>`.
 */
import { createHash } from 'node:crypto';
import type { SqlExecutor } from './driver';

/** How a column is turned into text, identically in SQL (at link time) and in `verifyChain`. */
type FieldKind = 'text' | 'number' | 'uuid' | 'jsonb' | 'time';

/**
 * The link format, version 1: part of migration 2. Never change these lists or `linkPayload`; a
 * new format is a new migration with a new tag.
 */
export const LINK_FORMAT = 'gantry-ledger-link/1';

/** The columns a finish link covers: every column of the finished row but the chain's and the ack's. */
export const FINISH_FIELDS: readonly (readonly [string, FieldKind])[] = [
  ['id', 'uuid'],
  ['seq', 'number'],
  ['stack', 'text'],
  ['environment', 'text'],
  ['action', 'text'],
  ['status', 'text'],
  ['commit_sha', 'text'],
  ['ref', 'text'],
  ['actor', 'text'],
  ['ci_run_id', 'text'],
  ['ci_run_attempt', 'number'],
  ['ci_run_url', 'text'],
  ['role_arn', 'text'],
  ['account_id', 'text'],
  ['terraform_version', 'text'],
  ['plan_run_id', 'uuid'],
  ['plan_sha256', 'text'],
  ['count_create', 'number'],
  ['count_update', 'number'],
  ['count_delete', 'number'],
  ['count_replace', 'number'],
  ['count_read', 'number'],
  ['approvers', 'jsonb'],
  ['started_at', 'time'],
  ['heartbeat_at', 'time'],
  ['finished_at', 'time'],
  ['exit_code', 'number'],
  ['error_summary', 'text'],
  ['note', 'text'],
  ['host', 'text'],
  ['pid', 'number'],
];

/** The columns an acknowledgement link covers. */
export const ACK_FIELDS: readonly (readonly [string, FieldKind])[] = [
  ['id', 'uuid'],
  ['acknowledged_at', 'time'],
  ['acknowledged_by', 'text'],
  ['ack_reason', 'text'],
];

/**
 * The columns a deployment's link covers (migration 3): every column of a finished `deployments`
 * row but the chain's and the acknowledgement's. Its acknowledgement link covers `ACK_FIELDS`.
 */
export const DEPLOYMENT_FIELDS: readonly (readonly [string, FieldKind])[] = [
  ['id', 'uuid'],
  ['seq', 'number'],
  ['run_id', 'uuid'],
  ['environment', 'text'],
  ['service', 'text'],
  ['image_tag', 'text'],
  ['previous_tag', 'text'],
  ['task_definition', 'text'],
  ['digest', 'text'],
  ['commit_sha', 'text'],
  ['actor', 'text'],
  ['status', 'text'],
  ['reason', 'text'],
  ['started_at', 'time'],
  ['updated_at', 'time'],
  ['finished_at', 'time'],
];

/** The hash before the first link. */
export const GENESIS_HASH = '0'.repeat(64);

/** `finish`/`ack`: a run's links; `deployment`/`deployment-ack`: a deployment's (migration 3). */
export type LinkKind = 'finish' | 'ack' | 'deployment' | 'deployment-ack';

const fieldsOf = (kind: LinkKind) =>
  kind === 'finish' ? FINISH_FIELDS : kind === 'deployment' ? DEPLOYMENT_FIELDS : ACK_FIELDS;

/** A column as text in SQL: `prefix` is `r.` inside the trigger function, empty in a SELECT. */
export function fieldSql(column: string, kind: FieldKind, prefix = ''): string {
  const ref = `${prefix}${column}`;
  switch (kind) {
    case 'text':
      return ref;
    case 'time':
      // Microseconds, UTC, independent of the session's TimeZone and DateStyle.
      return `to_char(${ref} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
    default:
      return `CAST(${ref} AS text)`;
  }
}

/**
 * One field of the payload: `n` for NULL, else `v<UTF-8 byte length>:<text>`. The length prefix
 * makes the concatenation unambiguous without escaping anything.
 */
export function encodeField(value: string | null): string {
  return value === null ? 'n' : `v${Buffer.byteLength(value, 'utf8')}:${value}`;
}

/** The bytes a link hashes: format tag, kind, link number, previous hash, then the row's fields. */
export function linkPayload(
  kind: LinkKind,
  link: number,
  previousHash: string,
  values: readonly (string | null)[],
): string {
  return [LINK_FORMAT, kind, String(link), previousHash, ...values].map(encodeField).join('');
}

export function linkHash(
  kind: LinkKind,
  link: number,
  previousHash: string,
  values: readonly (string | null)[],
): string {
  return createHash('sha256')
    .update(linkPayload(kind, link, previousHash, values), 'utf8')
    .digest('hex');
}

/**
 * The same payload as a SQL expression over the record `r` (for the trigger function), with the
 * link number and previous hash in the PL/pgSQL variables `link` and `previous`.
 */
export function linkPayloadSql(kind: LinkKind): string {
  const fields = fieldsOf(kind);
  const parts = [
    `'${LINK_FORMAT}'`,
    `'${kind}'`,
    'CAST(link AS text)',
    'previous',
    ...fields.map(([column, type]) => fieldSql(column, type, 'r.')),
  ];
  return parts.map((p) => `terraform_runs_chain_field(${p})`).join(' || ');
}

/** One problem `verifyChain` found, as one line. */
export interface ChainProblem {
  readonly kind: 'gap' | 'edited' | 'head' | 'unchained' | 'unexpected-link' | 'duplicate' | 'anchor';
  /** The link number concerned, when there is one. */
  readonly link: number | null;
  readonly runId: string | null;
  readonly message: string;
}

export interface ChainReport {
  /** True when no problem was found. */
  readonly intact: boolean;
  /** Links checked (finish and acknowledgement links). */
  readonly links: number;
  /** The chain head as read before the walk: the last link's number and hash. */
  readonly head: { readonly link: number; readonly hash: string } | null;
  /** When migration 2 started the chain. */
  readonly chainStartedAt: string | null;
  /** Finished rows from before the chain began: they have no link and are not counted as problems. */
  readonly unchainedBeforeChain: number;
  readonly problems: readonly ChainProblem[];
}

export interface VerifyOptions {
  /** A link recorded earlier (`<link>:<hash>`, e.g. from a previous verify): it must still be there, unchanged. */
  readonly anchor?: { readonly link: number; readonly hash: string };
  /** Links read per query (the RDS Data API returns at most 1 MB per call). @default 100 */
  readonly pageSize?: number;
}

/** Parses `--anchor <link>:<hash>`; returns an error message when malformed. */
export function parseAnchor(value: string): { link: number; hash: string } | string {
  const m = /^(\d{1,15}):([0-9a-f]{64})$/.exec(value.trim());
  if (!m || Number(m[1]) < 1)
    return `--anchor: ${JSON.stringify(value)} is not <link>:<sha256 hex>, e.g. 42:${'ab'.repeat(32)}`;
  return { link: Number(m[1]), hash: m[2] };
}

const FIELD_COUNT = FINISH_FIELDS.length;

/** Links after `$1` up to `$2` (the head read first), `$3` at a time: finish and ack links in one order. */
function linksQuery(withDeployments: boolean): string {
  const cols = (fields: readonly (readonly [string, FieldKind])[]) =>
    Array.from({ length: FIELD_COUNT }, (_, i) =>
      i < fields.length ? `${fieldSql(fields[i][0], fields[i][1])} AS f${i}` : `CAST(NULL AS text) AS f${i}`,
    ).join(', ');
  return `SELECT * FROM (
      SELECT 'finish' AS kind, chain_seq AS link, chain_hash AS hash, CAST(id AS text) AS run_id, ${cols(FINISH_FIELDS)}
        FROM terraform_runs WHERE chain_seq IS NOT NULL
      UNION ALL
      SELECT 'ack' AS kind, ack_chain_seq AS link, ack_chain_hash AS hash, CAST(id AS text) AS run_id, ${cols(ACK_FIELDS)}
        FROM terraform_runs WHERE ack_chain_seq IS NOT NULL
      ${
        withDeployments
          ? `UNION ALL
      SELECT 'deployment' AS kind, chain_seq AS link, chain_hash AS hash, CAST(id AS text) AS run_id, ${cols(DEPLOYMENT_FIELDS)}
        FROM deployments WHERE chain_seq IS NOT NULL
      UNION ALL
      SELECT 'deployment-ack' AS kind, ack_chain_seq AS link, ack_chain_hash AS hash, CAST(id AS text) AS run_id, ${cols(ACK_FIELDS)}
        FROM deployments WHERE ack_chain_seq IS NOT NULL`
          : ''
      }
    ) AS links
    WHERE link > CAST($1 AS bigint) AND link <= CAST($2 AS bigint)
    ORDER BY link, kind LIMIT $3`;
}

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/** Walks the chain; see the file comment. Reads only: safe while other runs write. */
export async function verifyChain(db: SqlExecutor, options: VerifyOptions = {}): Promise<ChainReport> {
  const pageSize = options.pageSize ?? 100;
  const problems: ChainProblem[] = [];
  const problem = (p: ChainProblem) => problems.push(p);

  // The head first: every link up to it was committed with it (a link and the head move in one
  // transaction), so links written while we walk are beyond it and not reported as missing.
  const heads = await db.query(
    `SELECT CAST(seq AS text) AS seq, hash, CAST(legacy_max_seq AS text) AS legacy_max_seq,
       ${fieldSql('started_at', 'time')} AS started_at FROM terraform_runs_chain_head`,
  );
  if (heads.length !== 1) {
    problem({
      kind: 'head',
      link: null,
      runId: null,
      message: `head: terraform_runs_chain_head holds ${heads.length} rows, expected 1: the chain head was deleted or duplicated`,
    });
  }
  const head = heads.length === 1 ? { link: Number(heads[0].seq), hash: String(heads[0].hash) } : null;
  const legacyMax = heads.length === 1 ? Number(heads[0].legacy_max_seq) : 0;
  // Without a head, walk everything there is.
  const upTo = head?.link ?? Number.MAX_SAFE_INTEGER;

  let expected = 1;
  let previous: string | null = GENESIS_HASH;
  let lastRun: string | null = null;
  let checked = 0;
  let anchorSeen = false;
  let after = 0;
  // Migration 3 adds deployments to the chain; a ledger migrated to 2 only has none.
  const [tables] = await db.query(`SELECT to_regclass('deployments') IS NOT NULL AS present`);
  const withDeployments = tables?.present === true;
  const query = linksQuery(withDeployments);
  for (;;) {
    const rows = await db.query(query, [after, upTo, pageSize]);
    for (const row of rows) {
      const link = Number(row.link);
      const kind = String(row.kind) as LinkKind;
      const runId = String(row.run_id);
      const hash = String(row.hash);
      checked++;
      if (link < expected) {
        problem({
          kind: 'duplicate',
          link,
          runId,
          message: `duplicate: link ${link} appears again (${kind} of run ${runId}): links were renumbered`,
        });
        continue;
      }
      if (link > expected) {
        const missing = link - 1 === expected ? `link ${expected} is` : `links ${expected}..${link - 1} are`;
        problem({
          kind: 'gap',
          link: expected,
          runId,
          message:
            `gap: ${missing} missing between ${lastRun ? `run ${lastRun}` : 'the start of the chain'} and run ${runId} ` +
            `(link ${link}): a chained row was deleted or unlinked; link ${link} cannot be checked against its predecessor`,
        });
        previous = null;
      }
      const fields = fieldsOf(kind);
      const values = fields.map((_, i) => str(row[`f${i}`]));
      if (previous !== null && linkHash(kind, link, previous, values) !== hash) {
        problem({
          kind: 'edited',
          link,
          runId,
          message:
            `edited: run ${runId} (link ${link}, ${kind}): the hash does not match; the row's ` +
            `${kind === 'finish' ? 'columns' : 'acknowledgement'} or the hash of link ${link - 1} changed after it was chained`,
        });
      }
      if (options.anchor && options.anchor.link === link) {
        anchorSeen = true;
        if (options.anchor.hash !== hash) {
          problem({
            kind: 'anchor',
            link,
            runId,
            message: `anchor: link ${link} (run ${runId}) has hash ${hash}, the anchor recorded ${options.anchor.hash}: the chain was rewritten`,
          });
        }
      }
      previous = hash;
      lastRun = runId;
      expected = link + 1;
      after = link;
    }
    if (rows.length < pageSize) break;
  }

  if (head) {
    const last = expected - 1;
    if (head.link > last) {
      const missing = head.link === last + 1 ? `link ${head.link} is` : `links ${last + 1}..${head.link} are`;
      problem({
        kind: 'head',
        link: last + 1,
        runId: null,
        message: `head: the chain head is link ${head.link}, ${missing} missing after ${lastRun ? `run ${lastRun}` : 'the start'}: the newest chained rows were deleted`,
      });
    } else if (previous !== null && head.hash !== previous) {
      problem({
        kind: 'head',
        link: head.link,
        runId: lastRun,
        message: `head: the chain head's hash ${head.hash} is not the hash of link ${head.link} (${previous}): the head or the last link was changed`,
      });
    }
  }
  if (options.anchor && !anchorSeen) {
    problem({
      kind: 'anchor',
      link: options.anchor.link,
      runId: null,
      message: `anchor: link ${options.anchor.link} is not in the chain (head ${head?.link ?? 'missing'}): the chain was rewritten or truncated`,
    });
  }

  // Rows that should carry a link and do not, or carry one they should not.
  const strays = await db.query(
    `SELECT CAST(id AS text) AS id, CAST(seq AS text) AS seq, status, CASE
         WHEN status = 'running' THEN 'running'
         WHEN chain_seq IS NULL THEN 'finish'
         ELSE 'ack' END AS problem
       FROM terraform_runs
      WHERE (status = 'running' AND (chain_seq IS NOT NULL OR ack_chain_seq IS NOT NULL))
         OR (status <> 'running' AND chain_seq IS NULL AND seq > CAST($1 AS bigint))
         OR (acknowledged_at IS NOT NULL AND ack_chain_seq IS NULL AND chain_seq IS NOT NULL)
      ORDER BY seq LIMIT 1000`,
    [legacyMax],
  );
  for (const row of strays) {
    const runId = String(row.id);
    if (row.problem === 'running') {
      problem({
        kind: 'unexpected-link',
        link: null,
        runId,
        message: `unexpected-link: run ${runId} is running but carries a chain link: its status was changed back`,
      });
    } else if (row.problem === 'finish') {
      problem({
        kind: 'unchained',
        link: null,
        runId,
        message: `unchained: run ${runId} (${String(row.status)}) was written after the chain began but has no link: its link was removed`,
      });
    } else {
      problem({
        kind: 'unchained',
        link: null,
        runId,
        message: `unchained: run ${runId} is acknowledged but its acknowledgement has no link: it was written around the trigger`,
      });
    }
  }
  if (withDeployments) {
    const open = await db.query(
      `SELECT CAST(id AS text) AS id, status, CASE WHEN finished_at IS NULL THEN 'open' WHEN chain_seq IS NULL THEN 'finish' ELSE 'ack' END AS problem
         FROM deployments
        WHERE (finished_at IS NULL AND (chain_seq IS NOT NULL OR ack_chain_seq IS NOT NULL))
           OR (finished_at IS NOT NULL AND chain_seq IS NULL)
           OR (acknowledged_at IS NOT NULL AND ack_chain_seq IS NULL AND chain_seq IS NOT NULL)
        ORDER BY seq LIMIT 1000`,
    );
    for (const row of open) {
      const id = String(row.id);
      problem({
        kind: row.problem === 'open' ? 'unexpected-link' : 'unchained',
        link: null,
        runId: id,
        message:
          row.problem === 'open'
            ? `unexpected-link: deployment ${id} is open (${String(row.status)}) but carries a chain link: it was reopened`
            : `unchained: deployment ${id} (${String(row.status)}) is finished${row.problem === 'ack' ? ' and acknowledged' : ''} but has no link: it was written around the trigger`,
      });
    }
  }
  const legacy = await db.query(
    `SELECT count(*) AS n FROM terraform_runs WHERE status <> 'running' AND chain_seq IS NULL AND seq <= CAST($1 AS bigint)`,
    [legacyMax],
  );

  return {
    intact: problems.length === 0,
    links: checked,
    head,
    chainStartedAt: heads.length === 1 ? str(heads[0].started_at) : null,
    unchainedBeforeChain: Number(legacy[0]?.n ?? 0),
    problems,
  };
}
