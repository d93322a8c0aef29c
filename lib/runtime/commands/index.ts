import type { CommandRegistrar } from '../cli';
import { registerApply } from './apply';
import { registerDrift } from './drift';
import { registerLedger } from './ledger';
import { registerPlan } from './plan';
import { registerRelease } from './release';
import { registerRuns } from './runs';
import { registerShow } from './show';
import { registerWorkflows } from './workflows';

export {
  registerApply,
  registerDrift,
  registerLedger,
  registerPlan,
  registerRelease,
  registerRuns,
  registerShow,
  registerWorkflows,
};
export { appConfig, DEFAULT_WORKFLOWS_DIR } from './workflows';
export { renderRunsTable } from './runs';

/** The runtime's own subcommands, in help order. */
export const RUNTIME_COMMANDS: readonly CommandRegistrar[] = [
  registerPlan,
  registerApply,
  registerDrift,
  registerShow,
  registerRuns,
  registerRelease,
  registerLedger,
  registerWorkflows,
];
