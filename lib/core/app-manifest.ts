/**
 * What an app made with Gantry's stack factory writes beside its stacks (`<outdir>/gantry-app.json`):
 * the validated configuration, so tools that run in the app's directory (`gantry workflows`) use the
 * app's own configuration, never another one. Pure: `createStacks` writes it, the runtime reads it.
 */
export const APP_MANIFEST_FILE = 'gantry-app.json';
export const APP_MANIFEST_VERSION = 1;

export interface AppManifest<Config = unknown> {
  readonly version: typeof APP_MANIFEST_VERSION;
  /** The configuration the stacks were made from (`GantryConfig`). */
  readonly config: Config;
  /** The stack ids, in the order the app created them. */
  readonly stacks: readonly string[];
}

/** The manifest from its JSON text, or why it is not one. */
export function parseAppManifest(
  text: string,
): { ok: true; manifest: AppManifest } | { ok: false; reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `not JSON (${(error as Error).message})` };
  }
  const v = value as Partial<AppManifest>;
  if (typeof v !== 'object' || v === null) return { ok: false, reason: 'not an object' };
  if (v.version !== APP_MANIFEST_VERSION)
    return {
      ok: false,
      reason: `version ${JSON.stringify(v.version)}, this gantry reads ${APP_MANIFEST_VERSION}`,
    };
  if (typeof v.config !== 'object' || v.config === null) return { ok: false, reason: 'no config' };
  if (!Array.isArray(v.stacks) || !v.stacks.every((s) => typeof s === 'string'))
    return { ok: false, reason: 'no list of stacks' };
  return { ok: true, manifest: v as AppManifest };
}
