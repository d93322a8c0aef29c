export * from './github-oidc-provider';
export * from './deploy-roles';
