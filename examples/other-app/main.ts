/**
 * Using Gantry's constructs from another CDKTF app (the README's example): the app owns the stack,
 * the provider and the backend; Gantry adds the GitHub OIDC trust and the plan/apply roles, and its
 * security policy checks the stack at synth. It imports the package by name, as your app does.
 */
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { App, TerraformStack } from 'cdktf';
import { DeployRoles, GithubOidcProvider, Policy } from 'gantry';

export function buildApp(app: App): TerraformStack {
  const stack = new TerraformStack(app, 'sandbox-identity');
  new AwsProvider(stack, 'aws', { region: 'eu-west-1', allowedAccountIds: ['444444444444'] });

  const oidcProvider = new GithubOidcProvider(stack, 'github-oidc', {
    accountId: '444444444444',
    region: 'eu-west-1',
  });
  new DeployRoles(stack, 'roles', {
    accountId: '444444444444',
    region: 'eu-west-1',
    oidcProvider,
    repository: 'acme/sandbox',
    plan: { roleName: 'acme-sandbox-gh-plan', defaultBranch: 'main' },
    apply: {
      roleName: 'acme-sandbox-gh-apply',
      environment: 'sandbox', // the apply role trusts only `environment:sandbox` of acme/sandbox
      deploymentBranches: { branches: ['main'] },
      managedPolicyArns: ['arn:aws:iam::444444444444:policy/sandbox-deploy'], // your own, scoped to what you apply
    },
  });

  Policy.enforce(stack);
  return stack;
}

if (require.main === module) {
  const app = new App();
  buildApp(app);
  app.synth();
}
