/**
 * External checks after a rollout and its migrations: the service as its users reach it (through
 * the load balancer and TLS), separate from the in-cluster health check, so a failure here means
 * routing, certificate or proxy. Each check is tried until it passes or its tries run out.
 */
import { sleepMs } from './rollout';

export interface VerifyCheck {
  readonly service: string;
  readonly url: string;
  /** @default 200 */
  readonly expectStatus?: number;
  /** A regular expression the body must match. */
  readonly bodyMatch?: string;
  /** @default 30 */
  readonly retries?: number;
  /** @default 5 */
  readonly intervalSeconds?: number;
}

export interface VerifyResult {
  readonly service: string;
  readonly url: string;
  readonly ok: boolean;
  readonly attempts: number;
  readonly lastStatus: number | null;
  readonly reason: string;
}

export const DEFAULT_VERIFY_RETRIES = 30;
export const DEFAULT_VERIFY_INTERVAL_SECONDS = 5;

export interface VerifyOptions {
  readonly progress?: (line: string) => void;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Overrides every check's interval (tests). */
  readonly intervalMs?: number;
  /** Per request. @default 10000 */
  readonly requestTimeoutMs?: number;
}

export async function verifyCheck(check: VerifyCheck, options: VerifyOptions = {}): Promise<VerifyResult> {
  const tries = check.retries ?? DEFAULT_VERIFY_RETRIES;
  const interval = options.intervalMs ?? (check.intervalSeconds ?? DEFAULT_VERIFY_INTERVAL_SECONDS) * 1000;
  const expected = check.expectStatus ?? 200;
  const pattern = check.bodyMatch === undefined ? null : new RegExp(check.bodyMatch);
  const sleep = options.sleep ?? sleepMs;
  let lastStatus: number | null = null;
  let reason = 'not tried';
  for (let attempt = 1; attempt <= tries; attempt++) {
    try {
      const response = await fetch(check.url, {
        redirect: 'manual',
        signal: AbortSignal.timeout(options.requestTimeoutMs ?? 10_000),
      });
      lastStatus = response.status;
      const body = await response.text();
      if (response.status !== expected) reason = `status ${response.status}, expected ${expected}`;
      else if (pattern && !pattern.test(body))
        reason = `status ${response.status} but the body does not match /${check.bodyMatch}/`;
      else {
        const ok = `status ${response.status}${pattern ? `, body matches /${check.bodyMatch}/` : ''}`;
        options.progress?.(`[verify] ${check.service}: ${ok} (try ${attempt}/${tries})`);
        return {
          service: check.service,
          url: check.url,
          ok: true,
          attempts: attempt,
          lastStatus,
          reason: ok,
        };
      }
    } catch (error) {
      reason = `request failed: ${(error as Error).message}`;
    }
    options.progress?.(`[verify] ${check.service}: ${reason} (try ${attempt}/${tries})`);
    if (attempt < tries) await sleep(interval);
  }
  return {
    service: check.service,
    url: check.url,
    ok: false,
    attempts: tries,
    lastStatus,
    reason: `${reason} after ${tries} tries`,
  };
}
