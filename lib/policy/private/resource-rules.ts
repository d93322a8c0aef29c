/**
 * Rules 11-18 of docs/security.md: ECR, ECS, CodeBuild, log groups, KMS keys, S3 state buckets; and Gantry's
 * load-balancer rules, which docs/security.md does not number.
 */
import type { PolicyRule } from '../types';
import { defineRule } from './define';
import { isWildcardPrincipal, parseJson, policyDocuments, statements } from './iam-documents';
import {
  blocks,
  firstBlock,
  isObject,
  preventsDestroy,
  render,
  type JsonObject,
  type ResourceEntry,
  type StackView,
} from './terraform-json';
import { looksLikeSecretName } from '../../core/secret-names';

export { looksLikeSecretName };

/** The containers of a task definition's `container_definitions`, when it is literal JSON. */
export function containers(body: JsonObject): JsonObject[] {
  const parsed = parseJson(body.container_definitions);
  return Array.isArray(parsed) ? parsed.filter(isObject) : [];
}

function containerName(c: JsonObject, i: number): string {
  return typeof c.name === 'string' ? `container ${JSON.stringify(c.name)}` : `container ${i}`;
}

const ecr = defineRule({
  id: 'GANTRY-ECR-001',
  invariant: 11,
  title: 'ECR repositories: immutable tags, scan on push, KMS encryption, no public policy',
  publicChecks: ['CKV_AWS_51', 'CKV_AWS_163', 'CKV_AWS_136', 'CKV_AWS_32'],
  evaluate(view, report) {
    for (const repo of view.resources('aws_ecr_repository')) {
      const b = repo.body;
      if (b.image_tag_mutability !== 'IMMUTABLE') {
        report(
          repo.address,
          `image_tag_mutability = ${render(b.image_tag_mutability ?? 'MUTABLE')}`,
          'image_tag_mutability = "IMMUTABLE"',
        );
      }
      const scan = firstBlock(b.image_scanning_configuration)?.scan_on_push;
      if (scan !== true) {
        report(
          repo.address,
          `image_scanning_configuration.scan_on_push = ${render(scan)}`,
          'scan_on_push = true',
        );
      }
      const encryption = firstBlock(b.encryption_configuration)?.encryption_type;
      if (encryption !== 'KMS') {
        report(
          repo.address,
          `encryption_configuration.encryption_type = ${render(encryption ?? 'AES256')}`,
          'encryption_type = "KMS" (with the environment key)',
        );
      }
    }
    for (const doc of policyDocuments(view)) {
      if (doc.entry.type !== 'aws_ecr_repository_policy' && doc.entry.type !== 'aws_ecr_registry_policy')
        continue;
      for (const s of statements(parseJson(doc.value))) {
        if (s.effect === 'Allow' && (isWildcardPrincipal(s.principal) || s.notPrincipal !== undefined)) {
          report(
            doc.entry.address,
            `statement ${s.index} allows ${render(s.actions)} to ${render(s.principal ?? { NotPrincipal: s.notPrincipal })}`,
            'named account principals only (no public repository)',
          );
        }
      }
    }
  },
});

const ecsTaskDefinition = defineRule({
  id: 'GANTRY-ECS-001',
  invariant: 12,
  title:
    'ECS task definitions: read-only root, not privileged, no host PID, own roles, no secret-looking env',
  publicChecks: ['CKV_AWS_336', 'CKV_AWS_334', 'CKV_AWS_335', 'CKV_AWS_249', 'AWS-0036'],
  evaluate(view, report) {
    for (const td of view.resources('aws_ecs_task_definition')) {
      const b = td.body;
      if (b.pid_mode === 'host') report(td.address, 'pid_mode = "host"', 'pid_mode unset or "task"');
      if (typeof b.execution_role_arn === 'string' && b.execution_role_arn === b.task_role_arn) {
        report(
          td.address,
          `execution_role_arn = task_role_arn = ${render(b.execution_role_arn)}`,
          'a task role distinct from the execution role',
        );
      }
      containers(b).forEach((c, i) => {
        const name = containerName(c, i);
        if (c.readonlyRootFilesystem !== true) {
          report(
            td.address,
            `${name}: readonlyRootFilesystem = ${render(c.readonlyRootFilesystem)}`,
            'readonlyRootFilesystem = true',
          );
        }
        if (c.privileged === true)
          report(td.address, `${name}: privileged = true`, 'privileged unset or false');
        for (const env of blocks(c.environment)) {
          if (typeof env.name === 'string' && looksLikeSecretName(env.name)) {
            report(
              td.address,
              `${name}: environment variable ${render(env.name)} looks like a secret`,
              'secret values in "secrets" (valueFrom a Secrets Manager or SSM ARN), not in "environment"',
            );
          }
        }
      });
    }
  },
});

const ecsService = defineRule({
  id: 'GANTRY-ECS-002',
  invariant: 13,
  title: 'ECS services: no public IP, Fargate platform version LATEST or unset',
  publicChecks: ['CKV_AWS_333', 'CKV_AWS_332'],
  evaluate(view, report) {
    for (const svc of view.resources('aws_ecs_service')) {
      const publicIp = firstBlock(svc.body.network_configuration)?.assign_public_ip;
      if (publicIp === true || publicIp === 'true') {
        report(svc.address, 'network_configuration.assign_public_ip = true', 'assign_public_ip = false');
      }
      const version = svc.body.platform_version;
      if (version !== undefined && version !== 'LATEST') {
        report(svc.address, `platform_version = ${render(version)}`, 'platform_version unset or "LATEST"');
      }
    }
  },
});

const ecsCluster = defineRule({
  id: 'GANTRY-ECS-003',
  invariant: 14,
  title: 'ECS clusters: Container Insights on, ECS Exec logging encrypted',
  publicChecks: ['CKV_AWS_65', 'CKV_AWS_223', 'CKV_AWS_224'],
  evaluate(view, report) {
    for (const cluster of view.resources('aws_ecs_cluster')) {
      const insights = blocks(cluster.body.setting).find((s) => s.name === 'containerInsights')?.value;
      if (insights !== 'enabled' && insights !== 'enhanced') {
        report(
          cluster.address,
          `setting containerInsights = ${render(insights)}`,
          'setting containerInsights = "enabled" (or "enhanced")',
        );
      }
      const exec = firstBlock(firstBlock(cluster.body.configuration)?.execute_command_configuration);
      if (!exec?.kms_key_id) {
        report(
          cluster.address,
          `configuration.execute_command_configuration.kms_key_id = ${render(exec?.kms_key_id)}`,
          'ECS Exec sessions encrypted with a KMS key (execute_command_configuration.kms_key_id)',
        );
      }
      if (exec?.logging === 'NONE') {
        report(
          cluster.address,
          'execute_command_configuration.logging = "NONE"',
          'logging "DEFAULT" or "OVERRIDE"',
        );
      }
      const logs = firstBlock(exec?.log_configuration);
      if (exec?.logging === 'OVERRIDE') {
        if (!logs?.cloud_watch_log_group_name && !logs?.s3_bucket_name) {
          report(
            cluster.address,
            'logging = "OVERRIDE" without a destination',
            'a log group or bucket for ECS Exec',
          );
        }
        if (logs?.cloud_watch_log_group_name && logs.cloud_watch_encryption_enabled !== true) {
          report(
            cluster.address,
            `log_configuration.cloud_watch_encryption_enabled = ${render(logs.cloud_watch_encryption_enabled)}`,
            'cloud_watch_encryption_enabled = true',
          );
        }
        if (logs?.s3_bucket_name && logs.s3_bucket_encryption_enabled !== true) {
          report(
            cluster.address,
            `log_configuration.s3_bucket_encryption_enabled = ${render(logs.s3_bucket_encryption_enabled)}`,
            's3_bucket_encryption_enabled = true',
          );
        }
      }
    }
  },
});

const codebuild = defineRule({
  id: 'GANTRY-CB-001',
  invariant: 15,
  title: 'CodeBuild: artifacts encrypted, project KMS key, logs configured, privileged mode off',
  publicChecks: ['CKV_AWS_78', 'CKV_AWS_147', 'CKV_AWS_314', 'CKV_AWS_316'],
  evaluate(view, report) {
    for (const project of view.resources('aws_codebuild_project')) {
      const b = project.body;
      [...blocks(b.artifacts), ...blocks(b.secondary_artifacts)].forEach((artifact) => {
        if (artifact.encryption_disabled === true) {
          report(
            project.address,
            'artifacts.encryption_disabled = true',
            'artifacts encrypted (encryption_disabled unset or false)',
          );
        }
      });
      if (typeof b.encryption_key !== 'string' || b.encryption_key === '') {
        report(
          project.address,
          `encryption_key = ${render(b.encryption_key)}`,
          'encryption_key = the environment KMS key ARN',
        );
      }
      const logs = firstBlock(b.logs_config);
      const cw = firstBlock(logs?.cloudwatch_logs);
      const s3 = firstBlock(logs?.s3_logs);
      const cwOn = cw !== undefined && cw.status !== 'DISABLED' && typeof cw.group_name === 'string';
      const s3On = s3?.status === 'ENABLED' && s3.encryption_disabled !== true;
      if (!cwOn && !s3On) {
        report(
          project.address,
          `logs_config = ${render(logs)}`,
          'logs_config.cloudwatch_logs with a group_name (status ENABLED), or encrypted s3_logs',
        );
      }
      if (firstBlock(b.environment)?.privileged_mode === true) {
        report(
          project.address,
          'environment.privileged_mode = true',
          'privileged_mode off; when Docker-in-Docker is asked for, suppress GANTRY-CB-001 with the reason',
        );
      }
    }
  },
});

const logGroups = defineRule({
  id: 'GANTRY-LOG-001',
  invariant: 16,
  title: 'CloudWatch log groups: KMS key and a retention set',
  publicChecks: ['CKV_AWS_158', 'CKV_AWS_66', 'CKV_AWS_338'],
  evaluate(view, report) {
    for (const group of view.resources('aws_cloudwatch_log_group')) {
      if (typeof group.body.kms_key_id !== 'string' || group.body.kms_key_id === '') {
        report(group.address, `kms_key_id = ${render(group.body.kms_key_id)}`, 'kms_key_id = a KMS key ARN');
      }
      const retention = group.body.retention_in_days;
      if (typeof retention !== 'number' || retention <= 0) {
        report(
          group.address,
          `retention_in_days = ${render(retention)}`,
          'retention_in_days set (a positive number of days; 0 keeps logs forever)',
        );
      }
    }
  },
});

const kms = defineRule({
  id: 'GANTRY-KMS-001',
  invariant: 17,
  title: 'KMS keys: rotation on, a key policy without a wildcard principal',
  publicChecks: ['CKV_AWS_7', 'CKV_AWS_33'],
  evaluate(view, report) {
    for (const key of view.resources('aws_kms_key')) {
      const spec = key.body.customer_master_key_spec ?? key.body.key_spec;
      const symmetric = spec === undefined || spec === 'SYMMETRIC_DEFAULT';
      if (symmetric && key.body.enable_key_rotation !== true) {
        report(
          key.address,
          `enable_key_rotation = ${render(key.body.enable_key_rotation)}`,
          'enable_key_rotation = true',
        );
      }
    }
    for (const doc of policyDocuments(view)) {
      if (doc.entry.type !== 'aws_kms_key' && doc.entry.type !== 'aws_kms_key_policy') continue;
      for (const s of statements(parseJson(doc.value))) {
        if (s.effect === 'Allow' && (isWildcardPrincipal(s.principal) || s.notPrincipal !== undefined)) {
          report(
            doc.entry.address,
            `key policy statement ${s.index} allows ${render(s.actions)} to ${render(s.principal ?? { NotPrincipal: s.notPrincipal })}`,
            'named principals (the account root, services, roles), never "*"',
          );
        }
      }
    }
  },
});

/** Companion resources of a bucket (`bucket = "${aws_s3_bucket.x.id}"` or its literal name). */
function companions(view: StackView, bucket: ResourceEntry, type: string): ResourceEntry[] {
  return view
    .resources(type)
    .filter((e) => view.referenced(e.body.bucket, 'aws_s3_bucket', 'bucket') === bucket);
}

const s3 = defineRule({
  id: 'GANTRY-S3-001',
  invariant: 18,
  title: 'S3 buckets: versioned, public access blocked, KMS, ACLs off, TLS only, old versions expire, kept',
  publicChecks: [
    'CKV_AWS_21',
    'CKV_AWS_53',
    'CKV_AWS_54',
    'CKV_AWS_55',
    'CKV_AWS_56',
    'CKV_AWS_145',
    'CKV2_AWS_6',
    'CKV2_AWS_65',
    'CKV2_AWS_61',
  ],
  evaluate(view, report) {
    for (const bucket of view.resources('aws_s3_bucket')) {
      const missing: string[] = [];
      const versioning = companions(view, bucket, 'aws_s3_bucket_versioning').some(
        (v) => firstBlock(v.body.versioning_configuration)?.status === 'Enabled',
      );
      if (!versioning) missing.push('aws_s3_bucket_versioning status "Enabled"');
      const pab = companions(view, bucket, 'aws_s3_bucket_public_access_block').some(
        (p) =>
          p.body.block_public_acls === true &&
          p.body.block_public_policy === true &&
          p.body.ignore_public_acls === true &&
          p.body.restrict_public_buckets === true,
      );
      if (!pab) missing.push('aws_s3_bucket_public_access_block with all four settings true');
      const sse = companions(view, bucket, 'aws_s3_bucket_server_side_encryption_configuration').some((c) =>
        blocks(c.body.rule).some((r) =>
          ['aws:kms', 'aws:kms:dsse'].includes(
            String(firstBlock(r.apply_server_side_encryption_by_default)?.sse_algorithm),
          ),
        ),
      );
      if (!sse) missing.push('default encryption "aws:kms"');
      const owner = companions(view, bucket, 'aws_s3_bucket_ownership_controls').some(
        (o) => firstBlock(o.body.rule)?.object_ownership === 'BucketOwnerEnforced',
      );
      if (!owner) missing.push('ownership controls "BucketOwnerEnforced" (ACLs disabled)');
      const tls = companions(view, bucket, 'aws_s3_bucket_policy').some((p) =>
        statements(parseJson(p.body.policy)).some(
          (s) =>
            s.effect === 'Deny' &&
            JSON.stringify(s.condition).includes('"aws:SecureTransport":"false"') &&
            (s.actions.includes('s3:*') || s.actions.includes('*')),
        ),
      );
      if (!tls) missing.push('a bucket policy denying s3:* when aws:SecureTransport is false');
      const expiry = companions(view, bucket, 'aws_s3_bucket_lifecycle_configuration').some((l) =>
        blocks(l.body.rule).some(
          (r) => r.status === 'Enabled' && blocks(r.noncurrent_version_expiration).length > 0,
        ),
      );
      if (!expiry) missing.push('a lifecycle rule with noncurrent_version_expiration');
      if (!preventsDestroy(bucket.body)) missing.push('lifecycle.prevent_destroy = true');
      for (const item of missing) report(bucket.address, `no ${item}`, item);
    }
  },
});

/**
 * ELB security policies whose lowest protocol is TLS 1.2: `ELBSecurityPolicy-TLS13-1-2-*` and
 * `-TLS13-1-3-*` (with their Res, Ext, FIPS and PQ variants), `-TLS-1-2-*` and `-FS-1-2-*`. Not
 * `ELBSecurityPolicy-2016-08` (the API's default, TLS 1.0), `-TLS13-1-0/1-1-*`, `-FS-2018-06` or
 * `-FS-1-1-*`.
 */
export const TLS12_SECURITY_POLICY = /^ELBSecurityPolicy-(?:TLS13-1-[23]|TLS-1-2|FS-1-2)-[A-Za-z0-9-]+$/;

const LOAD_BALANCER_TYPES = ['aws_lb', 'aws_alb'];
const LISTENER_TYPES = ['aws_lb_listener', 'aws_alb_listener'];

/** Application load balancers (`load_balancer_type` unset or "application"). */
function applicationLoadBalancers(view: StackView): ResourceEntry[] {
  return view
    .resources(...LOAD_BALANCER_TYPES)
    .filter((lb) => lb.body.load_balancer_type === undefined || lb.body.load_balancer_type === 'application');
}

/**
 * A listener's protocol: its own, or HTTP when unset on an application load balancer's listener
 * (the provider's default); `undefined` for a network or gateway load balancer's.
 */
function listenerProtocol(view: StackView, listener: ResourceEntry): string | undefined {
  if (typeof listener.body.protocol === 'string') return listener.body.protocol;
  const lb = LOAD_BALANCER_TYPES.map((t) => view.referenced(listener.body.load_balancer_arn, t)).find(
    Boolean,
  );
  const type = lb?.body.load_balancer_type;
  return type === undefined || type === 'application' ? 'HTTP' : undefined;
}

/** An action that only redirects to HTTPS. */
function redirectsToHttps(action: JsonObject): boolean {
  return action.type === 'redirect' && firstBlock(action.redirect)?.protocol === 'HTTPS';
}

const loadBalancerTraffic = defineRule({
  id: 'GANTRY-ELB-001',
  title:
    'Load balancers: HTTPS/TLS listeners with a TLS 1.2+ policy, HTTP only redirects to HTTPS, invalid headers dropped',
  publicChecks: ['CKV_AWS_2', 'CKV_AWS_103', 'CKV_AWS_131', 'CKV_AWS_328'],
  evaluate(view, report) {
    for (const lb of applicationLoadBalancers(view)) {
      if (lb.body.drop_invalid_header_fields !== true) {
        report(
          lb.address,
          `drop_invalid_header_fields = ${render(lb.body.drop_invalid_header_fields ?? false)}`,
          'drop_invalid_header_fields = true',
        );
      }
      if (lb.body.desync_mitigation_mode === 'monitor') {
        report(
          lb.address,
          'desync_mitigation_mode = "monitor"',
          'desync_mitigation_mode "defensive" or "strictest"',
        );
      }
    }
    const httpListeners = new Set<string>();
    for (const listener of view.resources(...LISTENER_TYPES)) {
      const protocol = listenerProtocol(view, listener);
      if (protocol === 'HTTPS' || protocol === 'TLS') {
        const policy = listener.body.ssl_policy;
        if (typeof policy !== 'string' || !TLS12_SECURITY_POLICY.test(policy)) {
          report(
            listener.address,
            `${protocol} listener ssl_policy = ${render(policy ?? 'ELBSecurityPolicy-2016-08 (the default)')}`,
            'a TLS 1.2+ security policy such as "ELBSecurityPolicy-TLS13-1-2-2021-06"',
          );
        }
      } else if (protocol === 'HTTP') {
        httpListeners.add(listener.address);
        const actions = blocks(listener.body.default_action);
        if (actions.length === 0 || !actions.every(redirectsToHttps)) {
          report(
            listener.address,
            `HTTP listener default_action types ${render(actions.map((a) => a.type))}`,
            'an HTTP listener only redirects to HTTPS (default_action type "redirect", protocol "HTTPS")',
          );
        }
      }
    }
    for (const rule of view.resources('aws_lb_listener_rule', 'aws_alb_listener_rule')) {
      const listener = LISTENER_TYPES.map((t) => view.referenced(rule.body.listener_arn, t)).find(Boolean);
      if (!listener || !httpListeners.has(listener.address)) continue;
      const actions = blocks(rule.body.action);
      if (!actions.every(redirectsToHttps)) {
        report(
          rule.address,
          `rule on HTTP listener ${listener.address} has action types ${render(actions.map((a) => a.type))}`,
          'rules on an HTTP listener only redirect to HTTPS; attach forwarding rules to the HTTPS listener',
        );
      }
    }
  },
});

const loadBalancerDeletion = defineRule({
  id: 'GANTRY-ELB-002',
  title: 'Load balancers: deletion protection on',
  publicChecks: ['CKV_AWS_150'],
  evaluate(view, report) {
    for (const lb of view.resources(...LOAD_BALANCER_TYPES)) {
      if (lb.body.enable_deletion_protection !== true) {
        report(
          lb.address,
          `enable_deletion_protection = ${render(lb.body.enable_deletion_protection ?? false)}`,
          'enable_deletion_protection = true; a load balancer that may be deleted suppresses GANTRY-ELB-002 with the reason',
        );
      }
    }
  },
});

/**
 * Gantry's own rules for what it creates beyond docs/security.md (which does not number them): load
 * balancers, since `<env>-services` can create one.
 */
export const LOAD_BALANCER_RULES: readonly PolicyRule[] = [loadBalancerTraffic, loadBalancerDeletion];

export const RESOURCE_RULES: readonly PolicyRule[] = [
  ecr,
  ecsTaskDefinition,
  ecsService,
  ecsCluster,
  codebuild,
  logGroups,
  kms,
  s3,
];
