// Gantry's public API: constructs by domain, and the error type every validation throws.
export * from './core';
export * from './encryption';
export * from './github';
export * from './identity';
export * from './registry';
export * from './service';
export * from './policy';
