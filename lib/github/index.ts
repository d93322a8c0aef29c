export * from './github-environment';
export * from './default-branch-ruleset';
