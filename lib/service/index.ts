export * from './application-load-balancer';
export * from './fargate-service';
export * from './network-parameters';
export * from './service-cluster';
export * from './service-roles';
export * from './service-settings';
