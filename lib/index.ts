// Gantry's public API (`import { ... } from 'gantry'`): the configuration types and their validation,
// the constructs by domain, the security policy, the workflow generator and the runtime's building
// blocks. The stack factory is `gantry/stacks`. Only re-exports.
export * from './core';
export * from './config';
export * from './bootstrap';
export * from './encryption';
export * from './github';
export * from './identity';
export * from './registry';
export * from './runner';
export * from './service';
export * from './policy';
export * from './workflows';
export * from './runtime';
