/**
 * The app: reads the environment configuration, validates it, creates every stack and synthesizes
 * `cdktf.out/`. The one place that reads `process.env` for the app.
 */
import { App } from 'cdktf';
import * as path from 'node:path';
import { referenceConfig } from '../environments';
import { validateConfig, type GantryConfig } from '../lib/config';
import { GantryConfigError } from '../lib/core/errors';
import { Policy, POLICY_REPORT_FILE } from '../lib/policy/policy';
import { createStacks } from '../stacks';
import { exitWhenFlushed, tuneSynth } from './synth-tuning';

/**
 * The configuration: the reference one in `environments/`, or the module named by `GANTRY_CONFIG`
 * (a `.ts` or `.js` file exporting `config: GantryConfig`).
 */
function loadConfig(): GantryConfig {
  const file = process.env.GANTRY_CONFIG;
  if (!file) return referenceConfig;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the config module is chosen at run time
  const loaded = require(path.resolve(file)) as { config?: GantryConfig };
  if (!loaded.config)
    throw new GantryConfigError(`GANTRY_CONFIG: ${JSON.stringify(file)} exports no \`config\``);
  return loaded.config;
}

function main(): void {
  tuneSynth(process.env);
  const outdir = process.env.CDKTF_OUTDIR ?? 'cdktf.out';
  const config = loadConfig();
  // Before the App exists: a bad configuration writes nothing, not even the output directory.
  validateConfig(config);
  const app = new App({ outdir, skipValidation: false });
  createStacks(app, config);
  app.synth();
  const report = Policy.reportOf(app);
  if (report) {
    for (const line of Policy.summary(report)) console.log(`gantry: ${line}`);
    console.log(`gantry: policy report: ${path.join(outdir, POLICY_REPORT_FILE)}`);
  }
}

try {
  main();
  exitWhenFlushed();
} catch (error) {
  if (error instanceof GantryConfigError) {
    for (const line of error.problems) console.error(`gantry: config error: ${line}`);
    process.exit(1);
  }
  // Construct validations (node.addValidation) fail app.synth() with every message listed: print
  // them as they are, without a stack trace.
  if (error instanceof Error && /^Validation failed/.test(error.message)) {
    console.error(`gantry: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
