export * from './generate-workflows';
export { ACTION_PINS, COSIGN_BINARY, uses, type ActionPin, type CosignArch, type PinnedAction } from './pins';
export { PLAN_COMMENT_MARKER, planCommentMarker, stackMarkdownBudget } from './private/plan-workflow';
export { deployModeOf, type DeployMode } from './private/steps';
