export { constructPathsOf, readConstructPaths, constructPathOf, constructOf } from './construct-paths';
export type { ConstructPaths } from './construct-paths';
export { renderSummaryJson, summaryJson, SUMMARY_JSON_FORMAT } from './json';
export { parsePolicyDocument, diffStatements } from './policy-diff';
export type { PolicyStatement, WideningContext, PolicyDiff } from './policy-diff';
export { REVIEWED_TYPES } from './review-change';
export { splitImage } from './containers';
export type * from './model';
