/**
 * The shapes of Gantry's security policy: rules over a stack's synthesized Terraform JSON, the
 * findings they produce, suppressions and the per-stack report.
 */

/** A synthesized stack as cdktf writes it to `cdk.tf.json` (after overrides), typed loosely. */
export type TerraformJson = Readonly<Record<string, unknown>>;

/** One broken invariant on one Terraform address. */
export interface PolicyFinding {
  /** `GANTRY-ECR-001`, ... */
  readonly ruleId: string;
  /**
   * Terraform address: `aws_ecr_repository.api_repo_1234`, `data.<type>.<name>`, `provider.aws`
   * (`provider.aws.<alias>`) or `terraform.backend.s3`.
   */
  readonly address: string;
  /** What the rule found, e.g. `image_tag_mutability = "MUTABLE"`. */
  readonly found: string;
  /** What the rule expects, e.g. `image_tag_mutability = "IMMUTABLE"`. */
  readonly expected: string;
}

/** One rule: one invariant of docs/security.md (or one of Gantry's own), checked over a stack's final JSON. */
export interface PolicyRule {
  /** `GANTRY-<AREA>-<NNN>`; areas IAM, ECR, ECS, CB (CodeBuild), LOG, KMS, S3, TF, SEC, ELB. */
  readonly id: string;
  /**
   * Number of the invariant in docs/security.md (1..23); absent for Gantry's own rules that docs/security.md
   * does not number (`GANTRY-ELB-*`).
   */
  readonly invariant?: number;
  /** One line: what holds when the rule passes. */
  readonly title: string;
  /** The public checks (Checkov `CKV_AWS_*`, Aqua/Trivy `AWS-*`) the rule corresponds to. */
  readonly publicChecks: readonly string[];
  /** A pure function of the stack's final JSON: every violation of this rule, unsuppressed. */
  check(stack: TerraformJson): PolicyFinding[];
}

/** An explicit, named exception: this rule does not apply to this address, for this reason. */
export interface PolicySuppression {
  readonly ruleId: string;
  readonly address: string;
  readonly reason: string;
}

/** A suppression together with the findings it hid (empty when the rule holds anyway). */
export interface AppliedSuppression extends PolicySuppression {
  readonly findings: readonly PolicyFinding[];
}

/** The result of checking one stack. */
export interface StackPolicyResult {
  readonly stack: string;
  /** Ids of every rule checked. */
  readonly rulesChecked: readonly string[];
  /** Ids of the rules with neither violations nor suppressed findings. */
  readonly rulesPassed: readonly string[];
  /** Findings not covered by a suppression: any one fails synth. */
  readonly violations: readonly PolicyFinding[];
  /** Every suppression recorded in the stack's metadata, with what it hid. */
  readonly suppressions: readonly AppliedSuppression[];
  /** Suppressions that are malformed (unknown rule, empty reason): reported as violations too. */
  readonly invalidSuppressions: readonly string[];
}

/** `cdktf.out/gantry-policy-report.json`. */
export interface PolicyReport {
  readonly rules: ReadonlyArray<{
    readonly id: string;
    readonly invariant?: number;
    readonly title: string;
    readonly publicChecks: readonly string[];
  }>;
  readonly stacks: readonly StackPolicyResult[];
}
