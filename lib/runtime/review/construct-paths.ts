/**
 * cdktf construct paths of a synthesized stack: every resource and data source in `cdk.tf.json`
 * carries `"//": { "metadata": { "path": "<stack>/<construct>/...", "uniqueId": ... } }`, so a
 * reviewer can read `prod-services/api/service` instead of `aws_ecs_service.api_service_1A2B3C4D`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isRecord } from './values';

/** Address (`aws_iam_role.x`, `data.aws_iam_policy_document.y`) -> construct path. */
export type ConstructPaths = ReadonlyMap<string, string>;

/** The construct paths of a parsed `cdk.tf.json`. */
export function constructPathsOf(stack: unknown): Map<string, string> {
  const paths = new Map<string, string>();
  if (!isRecord(stack)) return paths;
  for (const [section, prefix] of [
    ['resource', ''],
    ['data', 'data.'],
  ] as const) {
    const byType = stack[section];
    if (!isRecord(byType)) continue;
    for (const [type, byName] of Object.entries(byType)) {
      if (!isRecord(byName)) continue;
      for (const [name, body] of Object.entries(byName)) {
        const meta = isRecord(body) && isRecord(body['//']) ? body['//'].metadata : undefined;
        if (isRecord(meta) && typeof meta.path === 'string') paths.set(`${prefix}${type}.${name}`, meta.path);
      }
    }
  }
  return paths;
}

/** The construct paths of the stack in `dir` (its `cdk.tf.json`), or `undefined` when it has none. */
export function readConstructPaths(dir: string): Map<string, string> | undefined {
  const file = path.join(dir, 'cdk.tf.json');
  if (!fs.existsSync(file)) return undefined;
  try {
    return constructPathsOf(JSON.parse(fs.readFileSync(file, 'utf8')) as unknown);
  } catch {
    return undefined;
  }
}

/** The path of an address (instance keys `[0]`/`["a"]` dropped), or null. */
export function constructPathOf(paths: ConstructPaths | undefined, address: string): string | null {
  if (!paths || paths.size === 0) return null;
  const direct = paths.get(address);
  if (direct !== undefined) return direct;
  const bracket = address.indexOf('[');
  return bracket > 0 ? (paths.get(address.slice(0, bracket)) ?? null) : null;
}

/** The construct a resource belongs to: its path without the resource's own id. */
export function constructOf(constructPath: string): string {
  const slash = constructPath.lastIndexOf('/');
  return slash > 0 ? constructPath.slice(0, slash) : constructPath;
}
