/** Rules 19-23 of docs/security.md: providers and backend, prevent_destroy, literal JSON, secrets. */
import { DATA_STORE_TYPES as DATA_STORES } from '../../core/data-stores';
import type { PolicyRule } from '../types';
import { defineRule } from './define';
import { parseJson, policyDocuments } from './iam-documents';
import { containers, looksLikeSecretName } from './resource-rules';
import {
  blocks,
  firstBlock,
  hasInterpolation,
  isObject,
  preventsDestroy,
  render,
  type ResourceEntry,
} from './terraform-json';

const providersAndBackend = defineRule({
  id: 'GANTRY-TF-001',
  invariant: 19,
  title: 'Every AWS provider sets allowed_account_ids; the S3 backend sets use_lockfile and encrypt',
  publicChecks: [],
  evaluate(view, report) {
    for (const p of view.providers('aws')) {
      const ids = p.body.allowed_account_ids;
      if (!Array.isArray(ids) || ids.length === 0) {
        report(
          p.address,
          `allowed_account_ids = ${render(ids)}`,
          "allowed_account_ids = [the environment's account]",
        );
      }
    }
    for (const b of view.backends().filter((b) => b.type === 's3')) {
      if (b.body.use_lockfile !== true) {
        report(
          b.address,
          `use_lockfile = ${render(b.body.use_lockfile)}`,
          'use_lockfile = true (S3-native state locking)',
        );
      }
      if (b.body.encrypt !== true) {
        report(b.address, `encrypt = ${render(b.body.encrypt)}`, 'encrypt = true');
      }
    }
  },
});

/** Resource types that hold data (rule 20). */
export const DATA_STORE_TYPES: readonly string[] = Object.keys(DATA_STORES);

const preventDestroy = defineRule({
  id: 'GANTRY-TF-002',
  invariant: 20,
  title: 'Data stores (ECR, KMS keys, log groups, buckets, databases) carry prevent_destroy',
  publicChecks: [],
  evaluate(view, report) {
    for (const store of view.resources(...DATA_STORE_TYPES)) {
      if (!preventsDestroy(store.body)) {
        report(
          store.address,
          `lifecycle.prevent_destroy = ${render(firstBlock(store.body.lifecycle)?.prevent_destroy)}`,
          'lifecycle.prevent_destroy = true',
        );
      }
    }
  },
});

/**
 * The one interpolation allowed in a container definition: the image tag held in a Terraform
 * variable, after a literal repository (`<registry>/<repo>:${var.image_tag_<service>}`), so a
 * rollback is a re-apply with the previous tag.
 */
export const IMAGE_TAG_INTERPOLATION = /^[A-Za-z0-9._\-/:]+:\$\{var\.image_tag_[A-Za-z0-9_]+\}$/;

function* interpolations(value: unknown, path: string): Generator<{ path: string; value: string }> {
  if (typeof value === 'string') {
    if (hasInterpolation(value)) yield { path, value };
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) yield* interpolations(value[i], `${path}[${i}]`);
  } else if (isObject(value)) {
    for (const [key, v] of Object.entries(value)) {
      if (hasInterpolation(key)) yield { path: `${path}.<key ${JSON.stringify(key)}>`, value: key };
      yield* interpolations(v, `${path}.${key}`);
    }
  }
}

function checkLiteral(
  entry: ResourceEntry,
  attribute: string,
  value: unknown,
  report: (address: string, found: string, expected: string) => void,
  containerDefinitions = false,
): void {
  const expected = containerDefinitions
    ? 'literal JSON; the only interpolation is the image tag variable ("image": "<repository>:${var.image_tag_<service>}")'
    : 'a literal JSON string (no "${" interpolation)';
  if (typeof value !== 'string') {
    report(entry.address, `${attribute} is ${render(value)}, not a JSON string`, expected);
    return;
  }
  const parsed = parseJson(value);
  if (parsed === undefined) {
    report(entry.address, `${attribute} = ${render(value)} is not literal JSON`, expected);
    return;
  }
  for (const hit of interpolations(parsed, '')) {
    const allowedImage =
      containerDefinitions && /^\[\d+\]\.image$/.test(hit.path) && IMAGE_TAG_INTERPOLATION.test(hit.value);
    if (!allowedImage) {
      report(entry.address, `${attribute}${hit.path} = ${render(hit.value)} interpolates`, expected);
    }
  }
}

const literalJson = defineRule({
  id: 'GANTRY-TF-003',
  invariant: 21,
  title: 'Policies and container definitions are literal JSON strings',
  publicChecks: [],
  evaluate(view, report) {
    for (const doc of policyDocuments(view)) checkLiteral(doc.entry, doc.attribute, doc.value, report);
    for (const e of view.resources('aws_ecr_lifecycle_policy'))
      checkLiteral(e, 'policy', e.body.policy, report);
    for (const e of view.resources('aws_ecs_task_definition')) {
      checkLiteral(e, 'container_definitions', e.body.container_definitions, report, true);
    }
  },
});

/** Values that are secrets whatever their name: cloud keys, private keys, tokens, URL passwords. */
const SECRET_VALUES: ReadonlyArray<readonly [string, RegExp]> = [
  ['an AWS access key id', /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/],
  ['a private key', /-----BEGIN [A-Z ]*PRIVATE KEY-----/],
  ['a GitHub token', /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b/],
  ['a Slack token', /\bxox[abprs]-[A-Za-z0-9-]{10,}/],
  ['a password in a URL', /[a-z][a-z0-9+.-]*:\/\/[^\s/:@${}]+:[^\s/@${}]+@/i],
];

/** What each of SECRET_VALUES needs in a string to match: one scan rules most strings out. */
const MAY_HOLD_SECRET_VALUE = /A[KS]IA|PRIVATE KEY|gh[pousr]_|github_pat_|xox[abprs]-|:\/\//;

/** A pure reference (`${var.x}`, `${data.y.z.value}`) rather than a literal value. */
function isReference(value: string): boolean {
  return /^\$\{[^}]+\}$/.test(value);
}

const GITHUB_SECRET_TYPES = [
  'github_actions_secret',
  'github_actions_environment_secret',
  'github_actions_organization_secret',
  'github_dependabot_secret',
  'github_dependabot_organization_secret',
  'github_codespaces_secret',
  'github_codespaces_organization_secret',
];

/** Resource attributes that hold a secret value: set only from a reference. */
const SECRET_ATTRIBUTES: ReadonlyArray<readonly [string, string]> = [
  ['aws_db_instance', 'password'],
  ['aws_rds_cluster', 'master_password'],
  ['aws_docdb_cluster', 'master_password'],
  ['aws_secretsmanager_secret_version', 'secret_string'],
  ['aws_secretsmanager_secret_version', 'secret_binary'],
  ['aws_iam_user_login_profile', 'password'],
];

const literalSecrets = defineRule({
  id: 'GANTRY-SEC-001',
  invariant: 22,
  title: 'No literal secret in the synthesized JSON; secrets are references',
  publicChecks: ['CKV_AWS_41', 'CKV_AWS_45', 'CKV_SECRET_2', 'CKV_SECRET_6'],
  evaluate(view, report) {
    const expected = 'a reference (a sensitive variable, a Secrets Manager or SSM ARN), never the value';
    for (const e of view.resources(...GITHUB_SECRET_TYPES)) {
      const value = e.body.plaintext_value;
      if (typeof value === 'string' && !isReference(value)) {
        report(e.address, 'plaintext_value is a literal', expected);
      }
    }
    for (const [type, attribute] of SECRET_ATTRIBUTES) {
      for (const e of view.resources(type)) {
        const value = e.body[attribute];
        if (typeof value === 'string' && !isReference(value))
          report(e.address, `${attribute} is a literal`, expected);
      }
    }
    for (const e of view.resources('aws_ssm_parameter')) {
      if (e.body.type === 'SecureString' && typeof e.body.value === 'string' && !isReference(e.body.value)) {
        report(e.address, 'SecureString value is a literal', expected);
      }
    }
    for (const type of Object.keys(isObject(view.json.provider) ? view.json.provider : {})) {
      for (const p of view.providers(type)) {
        for (const [key, value] of Object.entries(p.body)) {
          if (
            /^(access_key|secret_key|token|password|app_auth)$/.test(key) &&
            typeof value === 'string' &&
            !isReference(value)
          ) {
            report(p.address, `${key} is a literal`, expected);
          }
        }
      }
    }
    const variables = isObject(view.json.variable) ? view.json.variable : {};
    for (const [name, body] of Object.entries(variables)) {
      if (
        isObject(body) &&
        typeof body.default === 'string' &&
        body.default !== '' &&
        looksLikeSecretName(name)
      ) {
        report(
          `var.${name}`,
          `variable ${render(name)} has a literal default`,
          'no default for a secret variable',
        );
      }
    }
    for (const td of view.resources('aws_ecs_task_definition')) {
      containers(td.body).forEach((c, i) => {
        for (const secret of blocks(c.secrets)) {
          if (
            typeof secret.valueFrom !== 'string' ||
            !/^arn:aws[a-z-]*:(secretsmanager|ssm):/.test(secret.valueFrom)
          ) {
            report(
              td.address,
              `container ${i}: secret ${render(secret.name)} valueFrom = ${render(secret.valueFrom)}`,
              'valueFrom = a Secrets Manager or SSM parameter ARN',
            );
          }
        }
      });
    }
    for (const project of view.resources('aws_codebuild_project')) {
      for (const v of blocks(firstBlock(project.body.environment)?.environment_variable)) {
        const type = v.type ?? 'PLAINTEXT';
        if (type === 'PLAINTEXT' && typeof v.name === 'string' && looksLikeSecretName(v.name)) {
          report(
            project.address,
            `environment variable ${render(v.name)} is PLAINTEXT`,
            'type SECRETS_MANAGER or PARAMETER_STORE for secret values',
          );
        }
      }
    }
    view.forEachString((address, value, path) => {
      if (!MAY_HOLD_SECRET_VALUE.test(value)) return;
      for (const [what, pattern] of SECRET_VALUES) {
        if (pattern.test(value)) report(address, `${path()} holds ${what}`, expected);
      }
    });
  },
});

/**
 * Terraform writes raw plan text (secrets in clear) to logs when it runs outside the runtime or
 * with debug logging; the runtime (`gantry plan|apply`) redacts with the plan's sensitivity masks.
 */
const rawPlanText = defineRule({
  id: 'GANTRY-SEC-002',
  invariant: 23,
  title: 'CodeBuild runs Terraform only through the redacting runtime, without TF_LOG',
  publicChecks: [],
  evaluate(view, report) {
    for (const project of view.resources('aws_codebuild_project')) {
      for (const v of blocks(firstBlock(project.body.environment)?.environment_variable)) {
        if (typeof v.name === 'string' && /^TF_LOG/.test(v.name) && v.value !== '' && v.value !== 'OFF') {
          report(
            project.address,
            `environment variable ${v.name} = ${render(v.value)}`,
            'no Terraform debug logging',
          );
        }
      }
      const buildspec = firstBlock(project.body.source)?.buildspec;
      if (typeof buildspec === 'string') {
        const direct = /(^|[\s;&|(`])terraform\s+(plan|apply|show)\b/m.exec(buildspec);
        if (direct) {
          report(
            project.address,
            `buildspec runs ${render(`terraform ${direct[2]}`)} directly`,
            '"gantry plan|apply" (the runtime stores only a redacted summary)',
          );
        }
      }
    }
  },
});

export const TERRAFORM_RULES: readonly PolicyRule[] = [
  providersAndBackend,
  preventDestroy,
  literalJson,
  literalSecrets,
  rawPlanText,
];
