/**
 * The release facts a services stack records at synth (what `gantry deploy|migrate|verify` read),
 * and the config rules of `services[].verify`, `notifications` and `deploy`: a bad value fails at
 * synth, naming the field, the value and what is allowed.
 */
import { referenceConfig } from '../../environments';
import { validateConfig, type GantryConfig } from '../../lib/config';
import { GantryConfigError } from '../../lib/core/errors';
import { parseReleaseFacts } from '../../lib/core/release-facts';
import { readStack, synthApp, withEnvironment } from '../util';

const TOPIC = 'arn:aws:sns:eu-west-1:333333333333:acme-prod-deploys';

const withRelease = (change: Parameters<typeof withEnvironment>[1]): GantryConfig =>
  withEnvironment('prod', change, referenceConfig);

const problemsOf = (config: GantryConfig): string[] => {
  try {
    validateConfig(config);
    return [];
  } catch (error) {
    if (error instanceof GantryConfigError) return [...error.problems];
    throw error;
  }
};

test('prod-services records its cluster, each service with its repository, migration and check, the environments before it, the notifications and polling', () => {
  const config = withRelease((env) => ({
    ...env,
    services: env.services.map((s) =>
      s.name === 'api' ? { ...s, verify: { url: 'https://api.example.com/api/health', bodyMatch: 'ok' } } : s,
    ),
    notifications: {
      webhooks: [{ urlEnv: 'SLACK_DEPLOY_WEBHOOK', format: 'slack' }],
      snsTopics: [{ topicArn: TOPIC, format: 'text' }],
      routine: 'condensed',
    },
    deploy: { pollIntervalSeconds: 10 },
  }));
  const stack = readStack(synthApp(config), 'prod-services');
  const parsed = parseReleaseFacts(stack);
  if (!parsed.ok) throw new Error(parsed.reason);
  const { facts } = parsed;
  expect(facts).toMatchObject({
    version: 3,
    region: 'eu-west-1',
    cluster: 'acme-prod',
    // What `gantry deploy prod --promote-from` may name, in the configuration's order.
    upstreamEnvironments: ['dev', 'staging'],
    // prod requires approvals: every deploy verifies keyless signatures (release.requireSignatures, on by default).
    requireSignatures: true,
    notifications: {
      webhooks: [{ urlEnv: 'SLACK_DEPLOY_WEBHOOK', format: 'slack' }],
      snsTopics: [{ topicArn: TOPIC, format: 'text' }],
      routine: 'condensed',
    },
    deploy: { pollIntervalSeconds: 10 },
  });
  const api = facts.services.find((s) => s.name === 'api');
  expect(api).toEqual({
    name: 'api',
    ecsService: 'api',
    repository: '333333333333.dkr.ecr.eu-west-1.amazonaws.com/acme/api',
    migrationTaskDefinition: 'acme-prod-api-migrate',
    verify: { url: 'https://api.example.com/api/health', bodyMatch: 'ok' },
    // Built here (sourcePaths): build-publish.yml of acme/platform signs it at the tag deployed; prod
    // (approvals) builds nothing on a push.
    signer: { repository: 'acme/platform', workflow: 'build-publish.yml', tag: 'deployed', push: null },
  });
  // Published by the admin source repository: its own workflow, any of its v* tags.
  expect(facts.services.find((s) => s.name === 'admin')?.signer).toEqual({
    repository: 'acme/admin',
    workflow: 'build-publish.yml',
    tag: 'any-v',
    push: null,
  });
  expect(facts.services.find((s) => s.name === 'worker')).toMatchObject({
    migrationTaskDefinition: null,
    verify: null,
  });
  // The stack facts are still there, beside them.
  expect(Object.keys(stack['//'] as object)).toEqual(expect.arrayContaining(['gantry', 'gantryRelease']));
});

test('a bad check, webhook or poll setting fails validation naming the field, the value and what is allowed', () => {
  const problems = problemsOf(
    withRelease((env) => ({
      ...env,
      services: env.services.map((s) =>
        s.name === 'api'
          ? { ...s, verify: { url: 'http://api.example.com/health', bodyMatch: '(', retries: 0 } }
          : s,
      ),
      notifications: {
        webhooks: [{ urlEnv: 'https://hooks.slack.com/services/T0/B0/x' }],
        routine: 'loud' as never,
      },
      deploy: { rolloutTimeoutSeconds: -1 },
    })),
  );
  expect(problems).toEqual([
    'prod.services[0].verify.url: "http://api.example.com/health" must be an https:// URL (the check goes through the load balancer and TLS; http:// only for localhost)',
    'prod.services[0].verify.bodyMatch: "(" is not a regular expression',
    'prod.services[0].verify.retries: 0 must be an integer from 1 to 1000',
    'prod.notifications.webhooks[0].urlEnv: "https://hooks.slack.com/services/T0/B0/x" must name an environment variable (A-Z, 0-9, _) holding the URL; the URL is a secret and never goes in the config',
    'prod.notifications.routine: "loud" is not "full", "condensed" or "none"',
    'prod.deploy.rolloutTimeoutSeconds: -1 must be an integer from 1 to 86400',
  ]);
});

test('an SNS topic must be a standard topic of the environment account and partition, each given once', () => {
  const problems = problemsOf(
    withRelease((env) => ({
      ...env,
      notifications: {
        snsTopics: [
          { topicArn: TOPIC },
          { topicArn: 'arn:aws:sns:eu-west-1:222222222222:acme-prod-deploys' },
          { topicArn: 'arn:aws-cn:sns:cn-north-1:333333333333:acme-prod-deploys' },
          { topicArn: 'arn:aws:sns:cn-north-1:333333333333:acme-prod-deploys' },
          { topicArn: 'arn:aws:sns:eu-west-1:333333333333:acme-prod-deploys.fifo' },
          { topicArn: 'acme-prod-deploys' },
          { topicArn: TOPIC, format: 'html' as never },
        ],
      },
    })),
  );
  const allowed = 'give a standard topic of account 333333333333 in partition aws';
  expect(problems).toEqual([
    `prod.notifications.snsTopics[1].topicArn: "arn:aws:sns:eu-west-1:222222222222:acme-prod-deploys" is a topic of account 222222222222; ${allowed} (the environment's own)`,
    `prod.notifications.snsTopics[2].topicArn: "arn:aws-cn:sns:cn-north-1:333333333333:acme-prod-deploys" is outside partition aws (of the environment's region eu-west-1); ${allowed}`,
    `prod.notifications.snsTopics[3].topicArn: "arn:aws:sns:cn-north-1:333333333333:acme-prod-deploys" is outside partition aws (of the environment's region eu-west-1); ${allowed}`,
    `prod.notifications.snsTopics[4].topicArn: "arn:aws:sns:eu-west-1:333333333333:acme-prod-deploys.fifo" is a FIFO topic; ${allowed}`,
    'prod.notifications.snsTopics[5].topicArn: "acme-prod-deploys" is not an SNS topic ARN (arn:aws:sns:<region>:333333333333:<name>, the name 1-256 of A-Z, a-z, 0-9, _ and -)',
    `prod.notifications.snsTopics[6].topicArn: "${TOPIC}" is listed already (snsTopics[0]); give each topic once`,
    'prod.notifications.snsTopics[6].format: "html" is not "json" or "text"',
  ]);
  // Another region of the same account and partition is a topic the deploy may publish to.
  expect(
    problemsOf(
      withRelease((env) => ({
        ...env,
        notifications: { snsTopics: [{ topicArn: 'arn:aws:sns:us-east-1:333333333333:acme-deploys' }] },
      })),
    ),
  ).toEqual([]);
});

test('the runtime refuses release facts whose notifications it could not use', () => {
  const stack = readStack(synthApp(), 'prod-services') as {
    '//': { gantryRelease: Record<string, unknown> };
  };
  expect(parseReleaseFacts(stack)).toMatchObject({
    ok: true,
    facts: { notifications: { snsTopics: [{ topicArn: TOPIC }] } },
  });
  const release = stack['//'].gantryRelease;
  for (const notifications of [
    { snsTopics: [{ topicArn: 'acme-prod-deploys' }] },
    { snsTopics: [{ topicArn: TOPIC, format: 'xml' }] },
    { webhooks: [{ url: 'https://hooks.example.com/T0/secret' }] },
    { routine: 'loud' },
    'none',
  ]) {
    const tampered = { ...stack, '//': { ...stack['//'], gantryRelease: { ...release, notifications } } };
    expect(parseReleaseFacts(tampered)).toEqual({
      ok: false,
      reason: 'its release facts have a malformed notifications block',
    });
  }
});

test('dev, the first environment, has nothing to promote from; a repository or upstream list the runtime could not use is refused', () => {
  const app = synthApp();
  const dev = parseReleaseFacts(readStack(app, 'dev-services'));
  if (!dev.ok) throw new Error(dev.reason);
  expect(dev.facts.upstreamEnvironments).toEqual([]);
  expect(dev.facts.services.find((s) => s.name === 'api')?.repository).toBe(
    '111111111111.dkr.ecr.eu-west-1.amazonaws.com/acme/api',
  );
  const stack = readStack(app, 'prod-services') as { '//': { gantryRelease: Record<string, unknown> } };
  const release = stack['//'].gantryRelease;
  const services = release.services as Record<string, unknown>[];
  const tamper = (change: Record<string, unknown>) =>
    parseReleaseFacts({ ...stack, '//': { ...stack['//'], gantryRelease: { ...release, ...change } } });
  for (const repository of [
    'acme/api',
    '333333333333.dkr.ecr.eu-west-1.amazonaws.com/acme/api:v1',
    undefined,
  ])
    expect(tamper({ services: [{ ...services[0], repository }, ...services.slice(1)] })).toEqual({
      ok: false,
      reason: 'its release facts have a malformed services list',
    });
  for (const upstreamEnvironments of [undefined, 'dev', ['dev', '../x']])
    expect(tamper({ upstreamEnvironments })).toEqual({
      ok: false,
      reason: 'its release facts have a malformed upstreamEnvironments list',
    });
  expect(tamper({ version: 1 })).toEqual({
    ok: false,
    reason: 'its release facts are not version 3: synthesize with the same Gantry version',
  });
});

describe('release.requireSignatures', () => {
  const requiring = (change: Partial<NonNullable<GantryConfig['release']>> = {}): GantryConfig => ({
    ...referenceConfig,
    release: {
      ...referenceConfig.release,
      requireSignatures: true,
      sourceRepositories: [
        {
          name: 'admin',
          repository: 'acme/admin',
          services: ['admin', 'admin-frontend'],
          signingWorkflow: 'release.yaml',
        },
      ],
      ...change,
    },
  });

  test('is recorded for the environments that require an approval, with each source repository’s own workflow', () => {
    const app = synthApp(requiring());
    const facts = (env: string) => {
      const parsed = parseReleaseFacts(readStack(app, `${env}-services`));
      if (!parsed.ok) throw new Error(parsed.reason);
      return parsed.facts;
    };
    // dev needs no approval: its deploys verify when asked; staging (1) and prod (2) always.
    expect(['dev', 'staging', 'prod'].map((e) => facts(e).requireSignatures)).toEqual([false, true, true]);
    expect(facts('prod').services.find((s) => s.name === 'admin-frontend')?.signer).toEqual({
      repository: 'acme/admin',
      workflow: 'release.yaml',
      tag: 'any-v',
      push: null,
    });
    // dev, which pushes deploy, also takes the sha- images its push builds sign on the default branch.
    expect(facts('dev').services.find((s) => s.name === 'api')?.signer).toEqual({
      repository: 'acme/platform',
      workflow: 'build-publish.yml',
      tag: 'deployed',
      push: { workflow: 'terraform-apply.yml', branch: 'main' },
    });
  });

  test('fails validation when it is not a boolean, when nothing would be checked, when a gated service has no signer, or on a bad workflow name', () => {
    expect(problemsOf(requiring({ requireSignatures: 'yes' as unknown as boolean }))).toEqual([
      'release.requireSignatures: "yes" must be true or false',
    ]);
    const noGate: GantryConfig = {
      ...requiring(),
      environments: referenceConfig.environments.filter((e) => e.name === 'dev'),
      release: { ...requiring().release, sourceRepositories: [] },
    };
    expect(problemsOf(noGate)).toEqual([
      'release.requireSignatures: true, but no environment requires an approval (approval.requiredApprovals >= 1): no deploy would be checked',
    ]);
    // Without its source repository, nothing builds admin (it has no sourcePaths): it could never deploy.
    const unsigned = problemsOf(
      requiring({ sourceRepositories: [{ name: 'admin', repository: 'acme/admin', services: ['admin'] }] }),
    );
    const unsignedProblems = ['staging', 'prod'].map(
      (env) =>
        `${env}.services[2]: "admin-frontend": ${env} requires an approval, so its deploys verify each image's keyless signature (release.requireSignatures, on by default), and nothing signs this service: give it sourcePaths (build-publish.yml builds and signs it), list it in a release.sourceRepositories entry, or set release.requireSignatures: false with release.unsignedReason`,
    );
    expect(unsigned).toEqual(unsignedProblems);
    // The same by default (requireSignatures not set).
    const { requireSignatures: _set, ...byDefault } = requiring({
      sourceRepositories: [{ name: 'admin', repository: 'acme/admin', services: ['admin'] }],
    }).release as NonNullable<GantryConfig['release']>;
    expect(problemsOf({ ...referenceConfig, release: byDefault })).toEqual(unsignedProblems);
    expect(
      problemsOf(
        requiring({
          sourceRepositories: [
            {
              name: 'admin',
              repository: 'acme/admin',
              services: ['admin', 'admin-frontend'],
              signingWorkflow: '../evil.yml',
            },
          ],
        }),
      ),
    ).toEqual([
      'release.sourceRepositories[0].signingWorkflow: "../evil.yml" must be a workflow file name under .github/workflows/, e.g. "build-publish.yml" (matching /^[A-Za-z0-9_.-]+\\.ya?ml$/)',
    ]);
    expect(problemsOf(requiring())).toEqual([]);
  });

  test('is on by default; turning it off takes a reason, and a reason without turning it off is refused', () => {
    const { requireSignatures: _set, ...release } = requiring().release as NonNullable<
      GantryConfig['release']
    >;
    const facts = (config: GantryConfig, env: string) => {
      const parsed = parseReleaseFacts(readStack(synthApp(config), `${env}-services`));
      if (!parsed.ok) throw new Error(parsed.reason);
      return parsed.facts.requireSignatures;
    };
    expect(problemsOf({ ...referenceConfig, release })).toEqual([]);
    // Nothing gated (dev alone, no approval): the default checks nothing and asks for nothing.
    expect(
      problemsOf({
        ...referenceConfig,
        environments: referenceConfig.environments.filter((e) => e.name === 'dev'),
        release: { ...release, sourceRepositories: [] },
      }),
    ).toEqual([]);
    expect(problemsOf(requiring({ requireSignatures: false }))).toEqual([
      'release.unsignedReason: undefined: release.requireSignatures: false lets deploys to environments that require an approval take images whose signatures are not checked; say why in 10+ characters',
    ]);
    expect(problemsOf(requiring({ requireSignatures: false, unsignedReason: 'legacy' }))).toEqual([
      'release.unsignedReason: "legacy": release.requireSignatures: false lets deploys to environments that require an approval take images whose signatures are not checked; say why in 10+ characters',
    ]);
    expect(problemsOf(requiring({ unsignedReason: 'images come from a vendor registry' }))).toEqual([
      'release.unsignedReason: "images come from a vendor registry": only with release.requireSignatures: false (signatures are checked, nothing to explain)',
    ]);
    const off = requiring({ requireSignatures: false, unsignedReason: 'images come from a vendor registry' });
    expect(problemsOf(off)).toEqual([]);
    expect(facts(off, 'prod')).toBe(false);
    expect(facts({ ...referenceConfig, release }, 'prod')).toBe(true);
  });

  test('the runtime refuses release facts whose signer or requireSignatures it could not use, and those of version 2', () => {
    const stack = readStack(synthApp(), 'prod-services') as {
      '//': { gantryRelease: Record<string, unknown> };
    };
    const release = stack['//'].gantryRelease;
    const services = release.services as Record<string, unknown>[];
    const tamper = (change: Record<string, unknown>) =>
      parseReleaseFacts({ ...stack, '//': { ...stack['//'], gantryRelease: { ...release, ...change } } });
    const withService = (change: Record<string, unknown>) =>
      tamper({ services: [{ ...services[0], ...change }, ...services.slice(1)] });
    for (const signer of [
      undefined,
      { repository: 'acme/*', workflow: 'build-publish.yml', tag: 'deployed', push: null },
      { repository: 'acme/platform', workflow: '../x.yml', tag: 'deployed', push: null },
      { repository: 'acme/platform', workflow: 'build-publish.yml', tag: 'any' },
      { repository: 'acme/platform', workflow: 'build-publish.yml', tag: 'deployed' },
      {
        repository: 'acme/platform',
        workflow: 'build-publish.yml',
        tag: 'deployed',
        push: { workflow: 'terraform-apply.yml', branch: 'main; rm -rf' },
      },
    ])
      expect(withService({ signer })).toEqual({
        ok: false,
        reason: 'its release facts have a malformed signer',
      });
    expect(withService({ signer: null })).toMatchObject({ ok: true });
    for (const requireSignatures of [undefined, 'true'])
      expect(tamper({ requireSignatures })).toEqual({
        ok: false,
        reason: 'its release facts have no requireSignatures (true or false)',
      });
    expect(tamper({ version: 2 })).toEqual({
      ok: false,
      reason: 'its release facts are not version 3: synthesize with the same Gantry version',
    });
  });
});
