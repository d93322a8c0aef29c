export * from './github-environment';
