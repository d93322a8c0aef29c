import { DataAwsSsmParameter } from '@cdktf/provider-aws/lib/data-aws-ssm-parameter';
import { Fn, TerraformOutput, TerraformStack, Token } from 'cdktf';
import type { Construct } from 'constructs';
import {
  bootstrapStateBackend,
  sharedStateRoles,
  toolingStateBackend,
  validateEnvironment,
  validateOrganization,
  validateTooling,
  type BootstrapConfig,
  type EnvironmentConfig,
  type NetworkConfig,
  type OrganizationConfig,
  type SharedStateRoles,
  type ToolingAccountConfig,
} from '../lib/config';
import { LedgerDatabase } from '../lib/bootstrap/ledger-database';
import { StateBucket } from '../lib/bootstrap/state-bucket';
import { GantryConfigError, ProblemList } from '../lib/core/errors';
import { bootstrapStackId } from '../lib/core/naming';
import { recordStackFacts } from '../lib/core/record-stack-facts';
import { NETWORK_PARAMETER_NAMES } from '../lib/service/network-parameters';
import {
  addAccountProvider,
  configureBackend,
  recordEnvironmentFacts,
  type AwsEnvironmentStackProps,
} from './aws-environment-stack';

/** The bootstrap stack of a shared tooling account, `<tooling name>-bootstrap`. */
export interface ToolingBootstrapStackProps {
  readonly organization: OrganizationConfig;
  readonly tooling: ToolingAccountConfig;
  /**
   * The environments whose state the bucket keeps (those with `bootstrap: { shared: true }`; others are
   * ignored): the bucket and its key admit exactly their plan, apply and deploy roles.
   */
  readonly environments: readonly EnvironmentConfig[];
}

export type BootstrapStackProps = AwsEnvironmentStackProps | ToolingBootstrapStackProps;

function isTooling(props: BootstrapStackProps): props is ToolingBootstrapStackProps {
  return 'environments' in props;
}

/**
 * `<env>-bootstrap`: what must exist before any other stack of the environment can run, applied first
 * by an administrator (`gantry bootstrap <env>`) with local state, which stays local: the state bucket
 * every other stack of the environment then keeps its state in, and optionally the ledger's Aurora
 * database, whose `rds-data://` URLs are the `ledger_url` (the owner's) and `ledger_writer_url` (CI's writer
 * login, which `gantry bootstrap` sets up) outputs. Needs `environment.bootstrap`.
 *
 * Given a `tooling` account instead, `<tooling name>-bootstrap` in that account: the same bucket (and
 * optional ledger), whose bucket policy and key also admit the roles of the environments that share it
 * (`bootstrap: { shared: true }`), each on its own state keys (docs/security.md 32).
 */
export class BootstrapStack extends TerraformStack {
  public readonly organization: OrganizationConfig;
  /** The environment, for an environment's bootstrap stack. */
  public readonly environment?: EnvironmentConfig;
  /** The tooling account, for the shared one. */
  public readonly tooling?: ToolingAccountConfig;
  public readonly stateBucket: StateBucket;
  public readonly ledger?: LedgerDatabase;

  constructor(scope: Construct, props: BootstrapStackProps) {
    const tooling = isTooling(props);
    super(scope, bootstrapStackId((tooling ? props.tooling : props.environment)?.name ?? ''));
    const org = props.organization;
    const problems = new ProblemList();
    validateOrganization(org, problems);
    if (tooling) validateTooling(props.tooling, props.environments, org?.name ?? '', problems);
    else validateEnvironment(props.environment, org?.name ?? '', problems);
    problems.throwIfAny();
    this.organization = org;
    let sharedWith: SharedStateRoles[] = [];
    let env: { name: string; accountId: string; region: string; network?: NetworkConfig };
    let bootstrap: BootstrapConfig | undefined;
    if (tooling) {
      this.tooling = props.tooling;
      env = props.tooling;
      bootstrap = props.tooling.bootstrap ?? {};
      const backend = toolingStateBackend(org.name, env);
      sharedWith = props.environments
        .filter((e) => e.bootstrap?.shared === true)
        .map((e) => sharedStateRoles(org.name, e, backend));
      recordStackFacts(this, {
        kind: 'bootstrap',
        repository: org.github.repository,
        defaultBranch: org.github.defaultBranch,
        environment: env.name,
        accountId: env.accountId,
        production: false,
        requiredApprovals: 0,
        approvalEnvironments: [env.name],
        services: [],
      });
    } else {
      this.environment = props.environment;
      env = props.environment;
      bootstrap = props.environment.bootstrap;
      if (!bootstrap || bootstrap.shared === true) {
        throw new GantryConfigError(
          `${env.name}.bootstrap: ${bootstrap ? 'shared: true, the environment keeps its state in the tooling account: no bootstrap stack of its own' : "undefined, a bootstrap stack needs the environment's bootstrap settings ({ stateBucket?, ledger? })"}`,
        );
      }
      recordEnvironmentFacts(this, org, props.environment, 'bootstrap');
    }
    addAccountProvider(this, this.node.id, env, org.github.repository);
    // Its state stays local: it creates the bucket.
    configureBackend(this, this.node.id, undefined, env.region);
    this.stateBucket = new StateBucket(this, 'state', {
      ...bootstrap.stateBucket,
      organization: org.name,
      environment: env.name,
      accountId: env.accountId,
      region: env.region,
      ...(sharedWith.length > 0 ? { sharedWith } : {}),
    });
    const backend = this.tooling ? toolingStateBackend(org.name, env) : bootstrapStateBackend(org.name, env);
    new TerraformOutput(this, 'state_bucket', {
      value: this.stateBucket.bucketName,
      description: this.tooling
        ? 'The S3 bucket of the stacks of the environments that share it'
        : 'The S3 bucket of the other stacks of this environment',
    });
    new TerraformOutput(this, 'state_key_prefix', { value: backend.keyPrefix });
    new TerraformOutput(this, 'state_kms_key_arn', { value: this.stateBucket.keyArn });
    if (bootstrap.ledger) {
      if (!env.network) throw new GantryConfigError(`${env.name}.network: undefined, the ledger needs one`);
      const network = this.networkIds(env.network);
      this.ledger = new LedgerDatabase(this, 'ledger', {
        ...bootstrap.ledger,
        organization: org.name,
        environment: env.name,
        accountId: env.accountId,
        region: env.region,
        ...network,
      });
      new TerraformOutput(this, 'ledger_url', {
        value: this.ledger.ledgerUrl,
        description: "The ledger as its owner (the master secret): gantry bootstrap's and an administrator's",
      });
      new TerraformOutput(this, 'ledger_writer_url', {
        value: this.ledger.writerUrl,
        description:
          'GANTRY_LEDGER_URL of the deploy project (the environment secret GANTRY_LEDGER_URL): the writer login gantry bootstrap sets up',
      });
      new TerraformOutput(this, 'ledger_cluster_arn', { value: this.ledger.clusterArn });
      new TerraformOutput(this, 'ledger_secret_arn', { value: this.ledger.secretArn });
      new TerraformOutput(this, 'ledger_writer_secret_arn', { value: this.ledger.writerSecretArn });
    }
  }

  /** The private subnets: given ids, or the SSM parameters under `network.fromSsm.prefix`. */
  private networkIds(network: NetworkConfig): { vpcId: string; subnetIds: string[] } {
    if (!('fromSsm' in network)) return { vpcId: network.vpcId, subnetIds: [...network.privateSubnetIds] };
    const { prefix } = network.fromSsm;
    const vpc = new DataAwsSsmParameter(this, 'network-vpc-id', {
      name: `${prefix}${NETWORK_PARAMETER_NAMES.vpcId}`,
    });
    const subnets = new DataAwsSsmParameter(this, 'network-private-subnet-ids', {
      name: `${prefix}${NETWORK_PARAMETER_NAMES.privateSubnetIds}`,
    });
    return { vpcId: vpc.value, subnetIds: Token.asList(Fn.split(',', subnets.value)) };
  }
}
