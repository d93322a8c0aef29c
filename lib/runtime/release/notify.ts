/**
 * Tells the team how a deploy ended: a webhook (Gantry's JSON, or a Slack/Discord-compatible
 * `{"text": ...}` body) per environment. Sent for a failure, a rollback and a success (a full message
 * for a recovery or when migrations ran, a condensed one for a routine deploy, or none, by config),
 * never for a deploy that deployed nothing. Every text goes through the run's redactor; a failed
 * notification is returned (and recorded on the run by the caller), never thrown.
 */
import type { Redactor } from '../redaction';

export type NotificationKind = 'failure' | 'rollback' | 'success';

export interface WebhookConfig {
  readonly url: string;
  /** `json`: Gantry's event; `slack`: `{"text": ...}` (Slack and Discord-compatible webhooks). @default json */
  readonly format?: 'json' | 'slack';
  /** How results name it, e.g. the variable holding the URL. @default the URL's origin */
  readonly name?: string;
}

export interface NotificationConfig {
  readonly webhooks?: readonly WebhookConfig[];
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

/** The message's text: full (one line per service) or condensed (one line). */
export function renderEvent(event: DeployEvent, condensed: boolean): string {
  const head =
    event.kind === 'failure'
      ? `:x: deploy to ${event.environment} failed`
      : event.kind === 'rollback'
        ? `:rewind: deploy to ${event.environment} rolled back`
        : `:white_check_mark: deployed to ${event.environment}`;
  const commit = event.commitSha ? ` ${event.commitSha.slice(0, 12)}` : '';
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
  options: { timeoutMs?: number } = {},
): Promise<NotificationResult[]> {
  if (!config || event.services.length === 0) return [];
  const routine = event.kind === 'success' && !event.notable;
  const mode = routine ? (config.routine ?? 'condensed') : 'full';
  if (mode === 'none') return [];
  const text = redactor.scrub(renderEvent(event, mode === 'condensed'));
  const results: NotificationResult[] = [];
  for (const hook of config.webhooks ?? []) {
    const channel = `webhook ${hook.name ?? safeUrl(hook.url)}`;
    if (!hook.url) {
      results.push({ channel, ok: false, detail: 'no URL: the variable holding it is not set' });
      continue;
    }
    const body =
      hook.format === 'slack'
        ? { text }
        : {
            ...(scrubStrings(event, redactor) as object),
            message: text,
            condensed: mode === 'condensed',
          };
    try {
      const response = await fetch(hook.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      await response.text().catch(() => '');
      results.push({ channel, ok: response.ok, detail: `HTTP ${response.status}` });
    } catch (error) {
      results.push({ channel, ok: false, detail: redactor.scrub((error as Error).message) });
    }
  }
  return results;
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
