/**
 * Tells the team how a deploy ended: webhooks (Gantry's JSON, or a Slack/Discord-compatible
 * `{"text": ...}` body) and SNS topics (the same JSON, or the text) per environment. Sent for a failure,
 * a rollback and a success (a full message for a recovery or when migrations ran, a condensed one for a
 * routine deploy, or none, by config), never for a deploy that deployed nothing. Every text goes
 * through the run's redactor; a failed notification is returned (and recorded on the run by the
 * caller), never thrown.
 */
import type { PublishCommandInput, SNSClient } from '@aws-sdk/client-sns';
import type { NotificationsConfig } from '../../config/deploy';
import type { Redactor } from '../redaction';
import { defaultSnsClient, snsSdk, type SnsClientFactory } from './sns';

export type NotificationKind = 'failure' | 'rollback' | 'success';

export interface WebhookConfig {
  readonly url: string;
  /** `json`: Gantry's event; `slack`: `{"text": ...}` (Slack and Discord-compatible webhooks). @default json */
  readonly format?: 'json' | 'slack';
  /** How results name it, e.g. the variable holding the URL. @default the URL's origin */
  readonly name?: string;
}

export interface SnsTopicConfig {
  /** A standard topic: `arn:<partition>:sns:<region>:<account>:<name>`. */
  readonly topicArn: string;
  /** `json`: Gantry's event, as the `json` webhook posts it; `text`: the message's text. @default json */
  readonly format?: 'json' | 'text';
}

export interface NotificationConfig {
  readonly webhooks?: readonly WebhookConfig[];
  readonly snsTopics?: readonly SnsTopicConfig[];
  /** A routine success (no migration, no recovery): `condensed` (one line), `full` or `none`. @default condensed */
  readonly routine?: 'full' | 'condensed' | 'none';
}

export interface DeployEvent {
  readonly kind: NotificationKind;
  readonly environment: string;
  readonly runId: string;
  readonly commitSha: string | null;
  readonly actor: string | null;
  /** Migrations ran, or the previous deploy of the environment had failed (a recovery). */
  readonly notable: boolean;
  readonly services: readonly {
    readonly service: string;
    readonly imageTag: string;
    readonly previousTag: string | null;
    readonly status: string;
    readonly reason: string | null;
  }[];
  readonly reason: string | null;
  readonly ciRunUrl?: string | null;
}

export interface NotificationResult {
  readonly channel: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** What happened, in words: `deploy to prod failed`, `deploy to prod rolled back`, `deployed to prod`. */
function headline(event: DeployEvent): string {
  if (event.kind === 'failure') return `deploy to ${event.environment} failed`;
  if (event.kind === 'rollback') return `deploy to ${event.environment} rolled back`;
  return `deployed to ${event.environment}`;
}

const EMOJI: Readonly<Record<NotificationKind, string>> = {
  failure: ':x:',
  rollback: ':rewind:',
  success: ':white_check_mark:',
};

const shortSha = (event: DeployEvent) => (event.commitSha ? ` ${event.commitSha.slice(0, 12)}` : '');

/** An SNS subject (one line, at most 100 characters): `Gantry: deploy to prod failed 0123456789ab`. */
export function subjectOf(event: DeployEvent): string {
  return `Gantry: ${headline(event)}${shortSha(event)}`.slice(0, 100);
}

/** The message's text: full (one line per service) or condensed (one line). */
export function renderEvent(event: DeployEvent, condensed: boolean): string {
  const head = `${EMOJI[event.kind]} ${headline(event)}`;
  const commit = shortSha(event);
  const by = event.actor ? ` by ${event.actor}` : '';
  if (condensed) {
    return `${head}${commit}${by}: ${event.services.map((s) => `${s.service} ${s.imageTag}`).join(', ')}`;
  }
  const lines = [`${head}${commit}${by} (run ${event.runId})`];
  if (event.reason) lines.push(`reason: ${event.reason}`);
  for (const s of event.services) {
    lines.push(
      `- ${s.service}: ${s.previousTag ?? 'none'} -> ${s.imageTag}: ${s.status}${s.reason ? ` (${s.reason})` : ''}`,
    );
  }
  if (event.ciRunUrl) lines.push(event.ciRunUrl);
  return lines.join('\n');
}

/** Sends the event to every channel; returns one result per channel (none when nothing is due). */
export async function notify(
  config: NotificationConfig | undefined,
  event: DeployEvent,
  redactor: Redactor,
  options: { timeoutMs?: number; sns?: SnsClientFactory } = {},
): Promise<NotificationResult[]> {
  if (!config || event.services.length === 0) return [];
  const routine = event.kind === 'success' && !event.notable;
  const mode = routine ? (config.routine ?? 'condensed') : 'full';
  if (mode === 'none') return [];
  const text = redactor.scrub(renderEvent(event, mode === 'condensed'));
  // Gantry's event: what a json webhook posts and a json topic publishes.
  const json = JSON.stringify({
    ...(scrubStrings(event, redactor) as object),
    message: text,
    condensed: mode === 'condensed',
  });
  const timeoutMs = options.timeoutMs ?? 10_000;
  const results: NotificationResult[] = [];
  for (const hook of config.webhooks ?? []) {
    const channel = `webhook ${hook.name ?? safeUrl(hook.url)}`;
    if (!hook.url) {
      results.push({ channel, ok: false, detail: 'no URL: the variable holding it is not set' });
      continue;
    }
    try {
      const response = await fetch(hook.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: hook.format === 'slack' ? JSON.stringify({ text }) : json,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.text().catch(() => '');
      results.push({ channel, ok: response.ok, detail: `HTTP ${response.status}` });
    } catch (error) {
      results.push({ channel, ok: false, detail: redactor.scrub((error as Error).message) });
    }
  }
  const topics = config.snsTopics ?? [];
  if (topics.length > 0) {
    const subject = redactor.scrub(subjectOf(event));
    results.push(
      ...(await publishAll(topics, options.sns ?? defaultSnsClient, timeoutMs, redactor, (topic) => ({
        Subject: subject,
        Message: topic.format === 'text' ? text : json,
        // For subscription filter policies: e.g. only failures and rollbacks to the pager.
        MessageAttributes: {
          kind: { DataType: 'String', StringValue: event.kind },
          environment: { DataType: 'String', StringValue: event.environment },
        },
      }))),
    );
  }
  return results;
}

/** Publishes to each topic with a client for its region (made once, destroyed after). */
async function publishAll(
  topics: readonly SnsTopicConfig[],
  clientFor: SnsClientFactory,
  timeoutMs: number,
  redactor: Redactor,
  message: (topic: SnsTopicConfig) => Omit<PublishCommandInput, 'TopicArn'>,
): Promise<NotificationResult[]> {
  const clients = new Map<string, SNSClient>();
  const results: NotificationResult[] = [];
  try {
    for (const topic of topics) {
      const channel = `sns ${topic.topicArn}`;
      try {
        const region = topic.topicArn.split(':')[3];
        const client = clients.get(region) ?? clientFor(region);
        clients.set(region, client);
        const out = await client.send(
          new (snsSdk().PublishCommand)({ TopicArn: topic.topicArn, ...message(topic) }),
          { abortSignal: AbortSignal.timeout(timeoutMs) },
        );
        results.push({ channel, ok: true, detail: `message ${out.MessageId ?? '(no id)'}` });
      } catch (error) {
        const e = error as Error;
        results.push({ channel, ok: false, detail: redactor.scrub(`${e.name}: ${e.message}`) });
      }
    }
  } finally {
    for (const client of clients.values()) client.destroy();
  }
  return results;
}

/**
 * The channels of an environment's notifications (its release facts) for this run: each webhook's URL
 * read from the variable it names in `env` and added to `redactor` (the URL is a secret), each topic
 * as configured.
 */
export function resolveNotifications(
  facts: NotificationsConfig | null,
  env: Readonly<Record<string, string | undefined>>,
  redactor: Redactor,
): NotificationConfig {
  const webhooks = (facts?.webhooks ?? []).map((w) => {
    const url = env[w.urlEnv] ?? '';
    if (url) redactor.addSecretValue(url);
    return { url, format: w.format, name: `$${w.urlEnv}` };
  });
  const snsTopics = (facts?.snsTopics ?? []).map((t) => ({ topicArn: t.topicArn, format: t.format }));
  return { webhooks, snsTopics, routine: facts?.routine };
}

/** A webhook URL without its path (Slack and Discord carry the secret there) or credentials. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/...`;
  } catch {
    return '(unparsable URL)';
  }
}

/** Every string of `value` scrubbed (the event's fields, one by one). */
function scrubStrings(value: unknown, redactor: Redactor): unknown {
  if (typeof value === 'string') return redactor.scrub(value);
  if (Array.isArray(value)) return value.map((v) => scrubStrings(v, redactor));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubStrings(v, redactor)]));
  }
  return value;
}
