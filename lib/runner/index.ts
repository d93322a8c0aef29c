export * from './deploy-project';
export * from './github-actions-runner';
export * from './services-apply-permissions';
export { CODEBUILD_COMPUTE_TYPES, DEFAULT_CODEBUILD_IMAGE } from './private/build-project';
export type { BuildProjectProps, BuildSettings } from './private/build-project';
export { COSIGN_SOURCES } from './private/buildspec';
export { START_BUILD_OVERRIDE_KEYS } from './private/policies';
export type { RunnerPolicyStatement } from './private/policies';
