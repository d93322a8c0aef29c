import type { CommandRegistrar } from '../cli';
import { registerApply } from './apply';
import { registerBootstrap } from './bootstrap';
import { registerDrift } from './drift';
import { registerLedger } from './ledger';
import { registerPlan } from './plan';
import { registerRuns } from './runs';
import { registerShow } from './show';
import { registerWorkflows } from './workflows';

export {
  registerApply,
  registerBootstrap,
  registerDrift,
  registerLedger,
  registerPlan,
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
  registerLedger,
  registerWorkflows,
  registerBootstrap,
];
