import type { CommandRegistrar } from '../cli';
import { registerApply } from './apply';
import { registerBootstrap } from './bootstrap';
import { registerChanged } from './changed';
import { registerDrift } from './drift';
import { registerLedger } from './ledger';
import { registerPlan } from './plan';
import { registerRelease } from './release';
import { registerRuns } from './runs';
import { registerShow } from './show';
import { registerVerifyImages } from './verify-images';
import { registerWorkflows } from './workflows';

export {
  registerApply,
  registerBootstrap,
  registerChanged,
  registerDrift,
  registerLedger,
  registerPlan,
  registerRelease,
  registerRuns,
  registerShow,
  registerVerifyImages,
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
  registerChanged,
  registerVerifyImages,
  registerBootstrap,
];
