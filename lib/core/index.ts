export * from './errors';
export * from './aws-limits';
