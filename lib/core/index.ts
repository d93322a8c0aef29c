export * from './errors';
export * from './aws-limits';
export * from './naming';
export * from './secret-names';
