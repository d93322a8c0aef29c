/**
 * GitHub Actions workflows generated from the same configuration as the infrastructure, so the
 * environments, role ARNs, runner labels and approval chains of the two never drift apart.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as YamlLibrary from 'yaml';
import { BUILD_PUBLISH_WORKFLOW, type GantryConfig } from '../config';
import { ACTION_PINS } from './pins';
import { applyWorkflow } from './private/apply-workflow';
import { buildPublishWorkflow } from './private/build-publish-workflow';
import { driftWorkflow } from './private/drift-workflow';
import { planWorkflow } from './private/plan-workflow';
import { GENERATED_HEADER, type ResolvedOptions, type Yaml } from './private/steps';

export interface WorkflowOptions {
  /** Node.js version of `actions/setup-node`. @default '20' */
  readonly nodeVersion?: string;
  /** Terraform version of `hashicorp/setup-terraform`. @default '1.11.4' */
  readonly terraformVersion?: string;
  /** Label of the GitHub-hosted runner for jobs that need no AWS runner. @default 'ubuntu-latest' */
  readonly runsOn?: string;
  /** Schedule of the drift check (cron, UTC). @default '17 5 * * 1-5' (weekdays 05:17) */
  readonly driftCron?: string;
  /** Secret holding `GANTRY_LEDGER_URL` (repository or environment secret). @default 'GANTRY_LEDGER_URL' */
  readonly ledgerUrlSecret?: string;
  /**
   * Secret holding a read-only GitHub token for the `github` stack's plan and drift check;
   * `false` leaves the `github` stack out. It is never applied by these workflows: it defines
   * their approval gates, so an administrator applies it.
   * @default 'GANTRY_GITHUB_TOKEN'
   */
  readonly githubTokenSecret?: string | false;
  /**
   * Environments deployed (their `services` stack) on every push to the default branch.
   * @default the non-production environments that require no approval
   */
  readonly autoDeployEnvironments?: readonly string[];
  /** Timeout of plan, drift and apply jobs. @default 60 */
  readonly timeoutMinutes?: number;
}

/** One generated file: its name under `.github/workflows/` and its YAML text. */
export interface GeneratedWorkflow {
  readonly fileName: string;
  readonly content: string;
}

/** The generated files, in a stable order. */
export const WORKFLOW_FILES = ['terraform-plan.yml', 'terraform-apply.yml', 'terraform-drift.yml'] as const;
/** Generated too when the configuration has a `release` and services this repository builds. */
export const BUILD_PUBLISH_FILE = BUILD_PUBLISH_WORKFLOW;

function resolveOptions(config: GantryConfig, options: WorkflowOptions): ResolvedOptions {
  return {
    nodeVersion: options.nodeVersion ?? '20',
    terraformVersion: options.terraformVersion ?? '1.11.4',
    runsOn: options.runsOn ?? 'ubuntu-latest',
    driftCron: options.driftCron ?? '17 5 * * 1-5',
    ledgerUrlSecret: options.ledgerUrlSecret ?? 'GANTRY_LEDGER_URL',
    githubTokenSecret: options.githubTokenSecret ?? 'GANTRY_GITHUB_TOKEN',
    autoDeployEnvironments:
      options.autoDeployEnvironments ??
      config.environments
        .filter((e) => !e.production && e.approval.requiredApprovals === 0)
        .map((e) => e.name),
    timeoutMinutes: options.timeoutMinutes ?? 60,
  };
}

/**
 * `yaml`, loaded when a workflow is rendered: importing Gantry's constructs (which this module's
 * `generateWorkflows` is exported beside) should not pay for a YAML library synth never uses.
 */
function yamlLibrary(): typeof YamlLibrary {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('yaml') as typeof YamlLibrary;
}

/** Renders one workflow: a header, block scripts, and each pinned action's version as a comment. */
export function renderWorkflow(workflow: Yaml): string {
  const { Document, isScalar, visit } = yamlLibrary();
  const doc = new Document(workflow);
  const versions = new Map<string, string>(
    Object.values(ACTION_PINS).map((p) => [`${p.action}@${p.sha}`, p.version]),
  );
  visit(doc, {
    Scalar(_key, node) {
      if (isScalar(node) && typeof node.value === 'string' && versions.has(node.value)) {
        node.comment = ` ${versions.get(node.value)}`;
      }
    },
  });
  doc.commentBefore = GENERATED_HEADER;
  return doc.toString({ lineWidth: 0, blockQuote: 'literal' });
}

/**
 * The workflows for a validated configuration: `terraform-plan.yml`, `terraform-apply.yml`,
 * `terraform-drift.yml`, and with a `release`, `build-publish.yml` (and the `image-published` handoff on
 * the apply workflow). Pure: the same configuration always yields the same bytes.
 */
export function generateWorkflows(config: GantryConfig, options: WorkflowOptions = {}): GeneratedWorkflow[] {
  const resolved = resolveOptions(config, options);
  const workflows: Record<(typeof WORKFLOW_FILES)[number], Yaml> = {
    'terraform-plan.yml': planWorkflow(config, resolved),
    'terraform-apply.yml': applyWorkflow(config, resolved),
    'terraform-drift.yml': driftWorkflow(config, resolved),
  };
  const generated = WORKFLOW_FILES.map((fileName) => ({
    fileName,
    content: renderWorkflow(workflows[fileName]),
  }));
  const buildPublish = buildPublishWorkflow(config, resolved);
  return buildPublish
    ? [...generated, { fileName: BUILD_PUBLISH_FILE, content: renderWorkflow(buildPublish) }]
    : generated;
}

/** Writes the files into `dir` (created if missing); other files there are left alone. */
export function writeWorkflows(dir: string, workflows: readonly GeneratedWorkflow[]): string[] {
  fs.mkdirSync(dir, { recursive: true });
  return workflows.map((w) => {
    const file = path.join(dir, w.fileName);
    fs.writeFileSync(file, w.content);
    return file;
  });
}

/** A committed file that differs from what the generator writes. */
export interface WorkflowDifference {
  readonly fileName: string;
  readonly problem: 'missing' | 'changed';
}

/** Compares `dir` with the generated files; an empty list means they match byte for byte. */
export function checkWorkflows(dir: string, workflows: readonly GeneratedWorkflow[]): WorkflowDifference[] {
  const differences: WorkflowDifference[] = [];
  for (const w of workflows) {
    const file = path.join(dir, w.fileName);
    if (!fs.existsSync(file)) differences.push({ fileName: w.fileName, problem: 'missing' });
    else if (fs.readFileSync(file, 'utf8') !== w.content)
      differences.push({ fileName: w.fileName, problem: 'changed' });
  }
  return differences;
}
