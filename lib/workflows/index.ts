export * from './generate-workflows';
export { ACTION_PINS, uses, type ActionPin, type PinnedAction } from './pins';
export { PLAN_COMMENT_MARKER, planCommentMarker, stackMarkdownBudget } from './private/plan-workflow';
export { deployModeOf, type DeployMode } from './private/steps';
