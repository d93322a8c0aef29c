/**
 * SQL shared by the append-only, hash-chained tables (`terraform_runs` of migration 2,
 * `deployments` of migration 3): the guard's rules for finished rows, the TRUNCATE refusal and the
 * link writer. Changing what these return changes released migrations: don't; add a new helper.
 */
import { linkPayloadSql, type LinkKind } from './chain';

export const CHAIN_COLUMNS = ['chain_seq', 'chain_hash', 'ack_chain_seq', 'ack_chain_hash'];
export const ACK_COLUMNS = ['acknowledged_at', 'acknowledged_by', 'ack_reason'];
export const sqlArray = (names: readonly string[]) => `ARRAY[${names.map((n) => `'${n}'`).join(', ')}]`;

/**
 * The guard's rules for a finished row (shared by `terraform_runs` and `deployments`): its chain
 * link, once; its acknowledgement (when `ackAllowed` holds of OLD), once; then its ack link, once.
 */
export function finishedRowRules(ackAllowed: string): string {
  return `       IF changed <@ ARRAY['chain_seq', 'chain_hash'] AND OLD.chain_seq IS NULL AND OLD.chain_hash IS NULL
          AND NEW.chain_seq IS NOT NULL AND NEW.chain_hash IS NOT NULL THEN
         RETURN NEW;
       END IF;
       IF changed <@ ARRAY['ack_chain_seq', 'ack_chain_hash'] AND OLD.acknowledged_at IS NOT NULL
          AND OLD.ack_chain_seq IS NULL AND OLD.ack_chain_hash IS NULL
          AND NEW.ack_chain_seq IS NOT NULL AND NEW.ack_chain_hash IS NOT NULL THEN
         RETURN NEW;
       END IF;
       IF changed <@ ${sqlArray(ACK_COLUMNS)} AND ${ackAllowed} AND OLD.acknowledged_at IS NULL
          AND NEW.acknowledged_at IS NOT NULL AND NEW.acknowledged_by IS NOT NULL AND NEW.ack_reason IS NOT NULL THEN
         RETURN NEW;
       END IF;
`;
}

/** A statement trigger that refuses TRUNCATE of `table` to everyone. */
export function noTruncate(table: string): string[] {
  return [
    `CREATE FUNCTION ${table}_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       RAISE EXCEPTION '${table} is append-only: it cannot be truncated' USING ERRCODE = 'insufficient_privilege';
     END $$`,
    `CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table}
       FOR EACH STATEMENT EXECUTE FUNCTION ${table}_no_truncate()`,
  ];
}

/**
 * The link writer of `table` (see `chain.ts`): runs as the owner (SECURITY DEFINER) at commit
 * (deferred), holding the one chain head FOR UPDATE; `finished` is the row `r` being final, `when`
 * the same of NEW for the trigger's WHEN.
 */
export function chainLink(
  table: string,
  kinds: { finished: string; finishKind: LinkKind; ackKind: LinkKind; when: string },
): string[] {
  const rows = table === 'terraform_runs' ? 'runs' : table;
  return [
    // The link writer runs as the owner (SECURITY DEFINER): the writer role may neither write the
    // chain columns nor the head itself. It fires at commit (deferred), after the transaction took
    // every row lock it needs, so waiting for the head cannot deadlock with another finish.
    `CREATE FUNCTION ${table}_chain_link() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
     DECLARE
       r ${table}%ROWTYPE;
       link bigint;
       previous text;
     BEGIN
       SELECT seq, hash INTO link, previous FROM terraform_runs_chain_head WHERE one FOR UPDATE;
       IF NOT FOUND THEN
         RAISE EXCEPTION 'terraform_runs_chain_head is empty: finished ${rows} cannot be chained' USING ERRCODE = 'data_corrupted';
       END IF;
       SELECT * INTO r FROM ${table} WHERE id = NEW.id;
       IF ${kinds.finished} AND r.chain_seq IS NULL THEN
         link := link + 1;
         previous := encode(sha256(convert_to(${linkPayloadSql(kinds.finishKind)}, 'UTF8')), 'hex');
         UPDATE ${table} SET chain_seq = link, chain_hash = previous WHERE id = r.id;
       END IF;
       IF r.acknowledged_at IS NOT NULL AND r.ack_chain_seq IS NULL THEN
         link := link + 1;
         previous := encode(sha256(convert_to(${linkPayloadSql(kinds.ackKind)}, 'UTF8')), 'hex');
         UPDATE ${table} SET ack_chain_seq = link, ack_chain_hash = previous WHERE id = r.id;
       END IF;
       UPDATE terraform_runs_chain_head SET seq = link, hash = previous WHERE one;
       RETURN NULL;
     END $$`,
    // Its search path: this schema, then pg_temp last (a temporary table of the writer's must not
    // stand in for the head). The schema is only known here, hence the DO block.
    `DO $$ BEGIN
       EXECUTE format('ALTER FUNCTION ${table}_chain_link() SET search_path = %I, pg_temp', current_schema());
     END $$`,
    `REVOKE ALL ON FUNCTION ${table}_chain_link() FROM PUBLIC`,
    `CREATE CONSTRAINT TRIGGER ${table}_chain AFTER INSERT OR UPDATE ON ${table}
       DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
       WHEN ((${kinds.when} AND NEW.chain_seq IS NULL)
             OR (NEW.acknowledged_at IS NOT NULL AND NEW.ack_chain_seq IS NULL))
       EXECUTE FUNCTION ${table}_chain_link()`,
  ];
}
