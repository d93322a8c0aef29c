export * from './github-oidc-provider';
export * from './deploy-roles';
export * from './publish-roles';
