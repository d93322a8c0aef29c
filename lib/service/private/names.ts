import { createHash } from 'node:crypto';

/**
 * `name` if it fits `max` characters, otherwise its first characters, `-` and an 8-hex-digit hash of
 * the whole name: deterministic, unique in practice, and still readable.
 */
export function fitName(name: string, max: number): string {
  if (name.length <= max) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, max - 9).replace(/-+$/, '')}-${hash}`;
}

/**
 * `app/<name>/<id>` of an ALB from the ARN of one of its listeners
 * (`arn:aws:elasticloadbalancing:<region>:<account>:listener/app/<name>/<id>/<listener-id>`), the
 * form CloudWatch dimensions and `ALBRequestCountPerTarget` resource labels use. `undefined` if the
 * ARN is not an ALB listener ARN.
 */
export function loadBalancerSuffixOfListener(listenerArn: string): string | undefined {
  const match =
    /^arn:[a-z-]+:elasticloadbalancing:[a-z0-9-]+:\d{12}:listener\/(app\/[^/]+\/[0-9a-f]+)\/[0-9a-f]+$/.exec(
      listenerArn,
    );
  return match?.[1];
}

/** The secret ARN a `valueFrom` names (Secrets Manager `valueFrom` may add `:json-key:stage:version`). */
export function secretResourceArn(valueFrom: string): string {
  const parts = valueFrom.split(':');
  return parts[2] === 'secretsmanager' ? parts.slice(0, 7).join(':') : valueFrom;
}

const SECRET_ARN =
  /^arn:aws(?:-cn|-us-gov)?:(?:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+(?::[^:]*:[^:]*:[^:]*)?|ssm:[a-z0-9-]+:\d{12}:parameter\/[A-Za-z0-9/_.-]+)$/;

/** Whether `valueFrom` is a Secrets Manager secret ARN or an SSM parameter ARN. */
export function isSecretArn(valueFrom: string): boolean {
  return SECRET_ARN.test(valueFrom);
}
