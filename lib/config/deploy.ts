/**
 * What `gantry deploy` needs beyond the infrastructure: each service's external check (`verify`),
 * the environment's notifications and the deploy's polling. Recorded into the services stack's
 * synthesized JSON (release facts) so the runtime reads them from the stack alone.
 */
import type { ProblemList } from '../core/errors';
import { show } from '../core/errors';
import { accountIdProblem, regionProblem, snsTopicArnProblem } from '../core/identifiers';

/** An external check of a service after its rollout: through the load balancer and TLS. */
export interface ServiceVerifyConfig {
  /** `https://...` (or `http://` only for a host on this machine, e.g. tests). */
  readonly url: string;
  /** @default 200 */
  readonly expectStatus?: number;
  /** A regular expression the response body must match. @default none */
  readonly bodyMatch?: string;
  /** @default 30 */
  readonly retries?: number;
  /** @default 5 */
  readonly intervalSeconds?: number;
}

/** A webhook the outcome of each deploy is posted to. Its URL is a secret: named by an environment variable. */
export interface WebhookNotificationConfig {
  /** The environment variable holding the URL at deploy time (e.g. a CI secret), never the URL itself. */
  readonly urlEnv: string;
  /** `json`: Gantry's event; `slack`: `{"text": ...}` (Slack and Discord-compatible). @default json */
  readonly format?: 'json' | 'slack';
}

/**
 * An SNS topic the outcome of each deploy is published to. Its ARN is no secret; who runs
 * `gantry deploy` (the deploy project's role, or the GitHub apply role without one) is granted
 * `sns:Publish` on exactly the configured topics.
 */
export interface SnsTopicNotificationConfig {
  /** `arn:<partition>:sns:<region>:<account>:<name>`: a standard topic of the environment's account and partition. */
  readonly topicArn: string;
  /**
   * The message: `json`, Gantry's event as the `json` webhook posts it (for code: SQS, Lambda); `text`, the
   * message's text alone (for people: e-mail, SMS, chat). @default json
   */
  readonly format?: 'json' | 'text';
}

export interface NotificationsConfig {
  readonly webhooks?: readonly WebhookNotificationConfig[];
  /** @default none */
  readonly snsTopics?: readonly SnsTopicNotificationConfig[];
  /** A routine successful deploy (no migration, no recovery). @default condensed */
  readonly routine?: 'full' | 'condensed' | 'none';
}

/** The environment's notification topics: what its deploy role may `sns:Publish` to. */
export function notificationTopicArns(env: { readonly notifications?: NotificationsConfig }): string[] {
  return [...new Set((env.notifications?.snsTopics ?? []).map((t) => t.topicArn))];
}

/** How `gantry deploy` follows the rollout. */
export interface DeployConfig {
  /** @default 15 */
  readonly pollIntervalSeconds?: number;
  /** @default 1800 */
  readonly rolloutTimeoutSeconds?: number;
  /** @default 1800 */
  readonly migrationTimeoutSeconds?: number;
}

const ENV_VAR = /^[A-Z_][A-Z0-9_]{0,127}$/;

const positiveInt = (v: unknown, max: number) =>
  typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= max;

export function serviceVerifyProblems(
  path: string,
  verify: ServiceVerifyConfig,
  problems: ProblemList,
): void {
  let url: URL | null = null;
  try {
    url = new URL(verify.url);
  } catch {
    url = null;
  }
  const local = url !== null && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  problems.check(
    url !== null && (url.protocol === 'https:' || (url.protocol === 'http:' && local)),
    `${path}.url`,
    `${show(verify.url)} must be an https:// URL (the check goes through the load balancer and TLS; http:// only for localhost)`,
  );
  if (verify.expectStatus !== undefined)
    problems.check(
      positiveInt(verify.expectStatus, 599) && verify.expectStatus >= 100,
      `${path}.expectStatus`,
      `${show(verify.expectStatus)} is not an HTTP status (100-599)`,
    );
  if (verify.bodyMatch !== undefined) {
    let ok = typeof verify.bodyMatch === 'string';
    try {
      if (ok) new RegExp(verify.bodyMatch);
    } catch {
      ok = false;
    }
    problems.check(ok, `${path}.bodyMatch`, `${show(verify.bodyMatch)} is not a regular expression`);
  }
  if (verify.retries !== undefined)
    problems.check(
      positiveInt(verify.retries, 1000),
      `${path}.retries`,
      `${show(verify.retries)} must be an integer from 1 to 1000`,
    );
  if (verify.intervalSeconds !== undefined)
    problems.check(
      positiveInt(verify.intervalSeconds, 3600),
      `${path}.intervalSeconds`,
      `${show(verify.intervalSeconds)} must be an integer from 1 to 3600`,
    );
}

export function releaseProblems(
  env: {
    readonly name: string;
    readonly accountId: string;
    readonly region: string;
    readonly notifications?: NotificationsConfig;
    readonly deploy?: DeployConfig;
  },
  problems: ProblemList,
): void {
  const n = env.notifications;
  if (n !== undefined) {
    (n.webhooks ?? []).forEach((hook, i) => {
      const at = `${env.name}.notifications.webhooks[${i}]`;
      problems.check(
        typeof hook.urlEnv === 'string' && ENV_VAR.test(hook.urlEnv),
        `${at}.urlEnv`,
        `${show(hook.urlEnv)} must name an environment variable (A-Z, 0-9, _) holding the URL; the URL is a secret and never goes in the config`,
      );
      if (hook.format !== undefined)
        problems.check(
          ['json', 'slack'].includes(hook.format),
          `${at}.format`,
          `${show(hook.format)} is not "json" or "slack"`,
        );
    });
    const seen = new Map<string, number>();
    // Topics are checked against the environment's account and partition once those are valid.
    const placed = accountIdProblem(env.accountId) === undefined && regionProblem(env.region) === undefined;
    (n.snsTopics ?? []).forEach((topic, i) => {
      const at = `${env.name}.notifications.snsTopics[${i}]`;
      const arn: unknown = topic?.topicArn;
      if (placed) problems.addIf(`${at}.topicArn`, snsTopicArnProblem(arn, env));
      if (typeof arn === 'string') {
        const first = seen.get(arn);
        problems.check(
          first === undefined,
          `${at}.topicArn`,
          `${show(arn)} is listed already (snsTopics[${first}]); give each topic once`,
        );
        if (first === undefined) seen.set(arn, i);
      }
      if (topic?.format !== undefined)
        problems.check(
          ['json', 'text'].includes(topic.format),
          `${at}.format`,
          `${show(topic.format)} is not "json" or "text"`,
        );
    });
    if (n.routine !== undefined)
      problems.check(
        ['full', 'condensed', 'none'].includes(n.routine),
        `${env.name}.notifications.routine`,
        `${show(n.routine)} is not "full", "condensed" or "none"`,
      );
  }
  const d = env.deploy;
  if (d !== undefined) {
    for (const [field, max] of [
      ['pollIntervalSeconds', 600],
      ['rolloutTimeoutSeconds', 86_400],
      ['migrationTimeoutSeconds', 86_400],
    ] as const) {
      const v = d[field];
      if (v !== undefined)
        problems.check(
          positiveInt(v, max),
          `${env.name}.deploy.${field}`,
          `${show(v)} must be an integer from 1 to ${max}`,
        );
    }
  }
}
