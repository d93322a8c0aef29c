export * from './code-build-runner';
