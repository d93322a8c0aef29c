export * from './types';
export * from './rules';
export * from './check-stack';
export * from './policy';
export * from './trust-policy';
