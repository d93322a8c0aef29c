/**
 * `gantry status`, `gantry ledger ack --environment --commit` and the refusals of `gantry deploy`
 * that happen before anything reaches AWS or Terraform (a stack without release facts, a blocked
 * commit), on a PGlite ledger directory: what an operator sees, and the exit codes. Run by
 * `ledger-verify-cli.test.ts` on its ledger directory (a PGlite directory costs seconds to create). With
 * Terraform on PATH, one deploy end to end: real plan and apply of a local stack, ECS at the wire level.
 * ECR answers at the wire level (aws-sdk-client-mock) wherever a deploy gets as far as its tag look-up.
 */
import { generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import {
  DescribeImagesCommand,
  ECRClient,
  ImageNotFoundException,
  type DescribeImagesCommandInput,
} from '@aws-sdk/client-ecr';
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { describeWithTerraform } from '../terraform-harness';
import { openLedger, type Ledger } from '../../lib/runtime/ledger';
import { RELEASE_FACTS_KEY } from '../../lib/core/release-facts';
import { recordDeploy } from './deployments-contract';
import { cleanEnv } from './env';
import { gantry, PROD_FACTS, terraformDir } from './helpers';
import { signedBundle } from './signing';

const BAD = 'b'.repeat(40);

export function describeReleaseCli(dir: string): void {
  const env = (extra: NodeJS.ProcessEnv = {}) =>
    cleanEnv(process.env, { GANTRY_LEDGER_URL: `pglite:${dir}`, ...extra });

  async function withLedger<T>(fn: (ledger: Ledger) => Promise<T>): Promise<T> {
    const ledger = await openLedger(`pglite:${dir}`);
    try {
      await ledger.migrate();
      return await fn(ledger);
    } finally {
      await ledger.close();
    }
  }

  const releaseFacts = {
    version: 3,
    region: 'eu-west-1',
    cluster: 'acme-prod',
    services: [
      {
        name: 'api',
        ecsService: 'api',
        repository: '333333333333.dkr.ecr.eu-west-1.amazonaws.com/acme/api',
        migrationTaskDefinition: null,
        verify: null,
        signer: { repository: 'acme/platform', workflow: 'build-publish.yml', tag: 'deployed', push: null },
      },
    ],
    upstreamEnvironments: ['dev', 'staging'],
    notifications: null,
    deploy: null,
    requireSignatures: false,
  };

  describe('gantry status, deploy refusals and ledger ack of a commit', () => {
    /** ECR: every tag is `DIGEST_IN_ECR`, unless a test answers otherwise; the inputs are kept. */
    const ecr = mockClient(ECRClient);
    const DIGEST_IN_ECR = `sha256:${'e'.repeat(64)}`;
    const lookups: DescribeImagesCommandInput[] = [];
    const answer = (digest: string) =>
      ecr.on(DescribeImagesCommand).callsFake((input: DescribeImagesCommandInput) => {
        lookups.push(input);
        return { imageDetails: [{ imageDigest: digest, imageTags: [input.imageIds?.[0]?.imageTag] }] };
      });
    beforeEach(() => {
      ecr.reset();
      lookups.length = 0;
      answer(DIGEST_IN_ECR);
    });
    afterAll(() => ecr.restore());

    beforeAll(async () => {
      await withLedger(async (ledger) => {
        await recordDeploy(ledger, 'prod', 'a'.repeat(40), { api: 'v1' }, 'verified');
        await recordDeploy(ledger, 'prod', BAD, { api: 'v2' }, 'rolled_back');
        await recordDeploy(ledger, 'dev', 'c'.repeat(40), { api: 'v3' }, 'verified');
      });
    });

    test('status --json shows the live tag per service per environment, and a newer rolled-back deploy beside it', async () => {
      const json = await gantry(['status', '--json'], env());
      expect(json.code).toBe(0);
      const rows = JSON.parse(json.stdout) as {
        environment: string;
        imageTag: string;
        latestTag: string;
        latestStatus: string;
        verified: boolean;
      }[];
      expect(rows.map((r) => [r.environment, r.imageTag, r.verified, r.latestTag, r.latestStatus])).toEqual([
        ['dev', 'v3', true, 'v3', 'verified'],
        ['prod', 'v1', true, 'v2', 'rolled_back'],
      ]);
    });

    test('deploy refuses (exit 3) a stack without release facts, and a blocked commit with a refused row; ack unblocks it', async () => {
      const noFacts = terraformDir({}, 'prod-services', PROD_FACTS);
      const missing = await gantry(['deploy', 'prod', '--dir', noFacts], env({ GANTRY_COMMIT_SHA: BAD }));
      expect(missing.code).toBe(3);
      expect(missing.stderr).toMatch(/^gantry: stack prod-services: it has no release facts/);

      // The release facts in a file of their own beside the stack facts (a synthesized stack has both in cdk.tf.json).
      const stackDir = terraformDir({}, 'prod-services', PROD_FACTS);
      fs.writeFileSync(
        path.join(stackDir, 'release.tf.json'),
        JSON.stringify({ '//': { [RELEASE_FACTS_KEY]: releaseFacts } }),
      );
      const summaryFile = path.join(stackDir, 'step-summary.md');
      const blocked = await gantry(
        ['deploy', 'prod', '--dir', stackDir, '--json'],
        env({ GANTRY_COMMIT_SHA: BAD, GITHUB_STEP_SUMMARY: summaryFile }),
      );
      expect(blocked.code).toBe(3);
      const result = JSON.parse(blocked.stdout) as { outcome: string; reason: string; runId: string };
      expect(result.outcome).toBe('refused');
      expect(result.reason).toMatch(
        /^commit b{12} is blocked in prod: its deploy \(run .*\) ended rolled_back \(api: verify: 503\)/,
      );
      // The outcome is in the step summary too, as `gantry plan`'s summary is.
      expect(fs.readFileSync(summaryFile, 'utf8').split('\n').slice(0, 3)).toEqual([
        `### \`gantry deploy prod\`: REFUSED (run ${result.runId})`,
        '',
        `Exit code 3. ${result.reason}`,
      ]);
      await withLedger(async (ledger) => {
        expect(await ledger.getRun(result.runId)).toMatchObject({
          action: 'deploy',
          status: 'refused',
          commitSha: BAD,
          exitCode: 3,
        });
      });

      const args = [
        'ledger',
        'ack',
        '--environment',
        'prod',
        '--commit',
        BAD,
        '--reason',
        'fixed the health check path',
      ];
      const acked = await gantry(args, env({ GANTRY_ACTOR: 'octocat' }));
      expect(acked.code).toBe(0);
      expect(acked.stdout).toBe(`ledger: commit ${BAD} unblocked in prod by octocat (api v2 rolled_back)`);
      const both = await gantry(
        ['ledger', 'ack', 'x', '--commit', BAD, '--environment', 'prod', '--reason', 'whatever'],
        env(),
      );
      expect(both.code).toBe(1);
      expect(both.stderr).toBe(
        'gantry: ledger ack: give either <run-id>, or --environment <env> with --commit <sha>',
      );
    });

    test('deploy --redeploy with --tag is refused (exit 3) with a refused row, before anything is planned', async () => {
      const stackDir = terraformDir({}, 'prod-services', PROD_FACTS);
      fs.writeFileSync(
        path.join(stackDir, 'release.tf.json'),
        JSON.stringify({ '//': { [RELEASE_FACTS_KEY]: releaseFacts } }),
      );
      const refused = await gantry(
        ['deploy', 'prod', '--dir', stackDir, '--redeploy', '--tag', 'api=v3', '--json'],
        env({ GANTRY_COMMIT_SHA: 'e'.repeat(40) }),
      );
      expect(refused.code).toBe(3);
      const result = JSON.parse(refused.stdout) as { outcome: string; reason: string; runId: string };
      expect(result).toMatchObject({
        outcome: 'refused',
        reason:
          '--redeploy deploys the last verified tags from the ledger and takes no image tags (given: --tag api=v3)',
      });
      await withLedger(async (ledger) => {
        expect(await ledger.getRun(result.runId)).toMatchObject({ action: 'deploy', status: 'refused' });
        expect(await ledger.listRuns({ stack: 'prod-services', action: 'plan' })).toEqual([]);
      });
    });

    test('deploy --image-key reads the key and the bundles and refuses a wrongly signed image (exit 3) before anything is planned', async () => {
      const stackDir = terraformDir({}, 'prod-services', PROD_FACTS);
      fs.writeFileSync(
        path.join(stackDir, 'release.tf.json'),
        JSON.stringify({ '//': { [RELEASE_FACTS_KEY]: releaseFacts } }),
      );
      const trusted = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const repository = '111111111111.dkr.ecr.eu-west-1.amazonaws.com/acme/api';
      const digest = `sha256:${'f'.repeat(64)}`;
      const key = path.join(stackDir, 'cosign.pub');
      fs.writeFileSync(key, trusted.publicKey.export({ type: 'spki', format: 'pem' }));
      const bundles = path.join(stackDir, 'signatures');
      fs.mkdirSync(bundles);
      fs.writeFileSync(
        path.join(bundles, 'api.json'),
        JSON.stringify(signedBundle(other.privateKey, repository, digest)),
      );
      const image = `api=${repository}@${digest}`;
      const args = ['deploy', 'prod', '--dir', stackDir, '--tag', 'api=v4', '--json'];
      const sha = { GANTRY_COMMIT_SHA: 'f'.repeat(40) };
      answer(digest);
      const refused = await gantry(
        [...args, '--image-key', key, '--signature-bundles', bundles, '--image', image],
        env(sha),
      );
      expect(refused.code).toBe(3);
      const result = JSON.parse(refused.stdout) as { outcome: string; reason: string; runId: string };
      expect(result.outcome).toBe('refused');
      expect(result.reason).toBe(
        `image signature check failed: api (${image.slice(4)}): the signature does not verify under any trusted key (wrongly signed)`,
      );
      await withLedger(async (ledger) => {
        expect(await ledger.getRun(result.runId)).toMatchObject({ action: 'deploy', status: 'refused' });
        expect(await ledger.listRuns({ stack: 'prod-services', action: 'plan' })).toEqual([]);
      });
      // Without --image, the bundle is checked for the facts' repository at the digest ECR names for the tag.
      lookups.length = 0;
      const fromEcr = await gantry([...args, '--image-key', key, '--signature-bundles', bundles], env(sha));
      expect(fromEcr.code).toBe(3);
      expect((JSON.parse(fromEcr.stdout) as { reason: string }).reason).toBe(
        `image signature check failed: api (${releaseFacts.services[0].repository}@${digest}): the signature does not verify under any trusted key (wrongly signed)`,
      );
      expect(lookups).toEqual([
        { registryId: '333333333333', repositoryName: 'acme/api', imageIds: [{ imageTag: 'v4' }] },
      ]);
      // The image and bundles check signatures: without a key they are a usage error, nothing recorded.
      const keyless = await gantry([...args, '--image', image], env(sha));
      expect(keyless.code).toBe(1);
      expect(keyless.stderr).toBe(
        'gantry: --signature-bundles and --image check image signatures: give the trusted key too (--image-key <pem>)',
      );
    });

    test('deploy refuses (exit 3) a tag that is not in the environment’s ECR repository, before anything is planned', async () => {
      const stackDir = terraformDir({}, 'prod-services', PROD_FACTS);
      fs.writeFileSync(
        path.join(stackDir, 'release.tf.json'),
        JSON.stringify({ '//': { [RELEASE_FACTS_KEY]: releaseFacts } }),
      );
      ecr.reset();
      ecr.on(DescribeImagesCommand).callsFake((input: DescribeImagesCommandInput) => {
        lookups.push(input);
        throw new ImageNotFoundException({
          $metadata: {},
          message: 'The image with imageId ... does not exist',
        });
      });
      const refused = await gantry(
        ['deploy', 'prod', '--dir', stackDir, '--tag', 'api=v7', '--json'],
        env({ GANTRY_COMMIT_SHA: '7'.repeat(40) }),
      );
      expect(refused.code).toBe(3);
      const result = JSON.parse(refused.stdout) as { outcome: string; reason: string; runId: string };
      expect(result).toMatchObject({
        outcome: 'refused',
        reason: `image digest check failed: api (${releaseFacts.services[0].repository}:v7): no image has this tag in the repository`,
      });
      expect(lookups).toEqual([
        { registryId: '333333333333', repositoryName: 'acme/api', imageIds: [{ imageTag: 'v7' }] },
      ]);
      await withLedger(async (ledger) => {
        expect(await ledger.getRun(result.runId)).toMatchObject({ action: 'deploy', status: 'refused' });
        expect(await ledger.listRuns({ stack: 'prod-services', action: 'plan' })).toEqual([]);
      });
    });

    test('deploy --promote-from: an unknown upstream, the environment itself, or --unverified-reason with --redeploy are usage errors (exit 1, nothing recorded); an unverified digest is refused (exit 3)', async () => {
      const stackDir = terraformDir({}, 'prod-services', PROD_FACTS);
      fs.writeFileSync(
        path.join(stackDir, 'release.tf.json'),
        JSON.stringify({ '//': { [RELEASE_FACTS_KEY]: releaseFacts } }),
      );
      const runs = () => withLedger(async (ledger) => (await ledger.listRuns({ limit: 1000 })).length);
      const before = await runs();
      const deploy = (...args: string[]) =>
        gantry(['deploy', 'prod', '--dir', stackDir, ...args], env({ GANTRY_COMMIT_SHA: '1'.repeat(40) }));
      const usageErrors: [string[], string][] = [
        [
          ['--promote-from', 'qa'],
          '--promote-from "qa": not an environment before prod in the configuration (allowed: dev, staging)',
        ],
        [
          ['--promote-from', 'prod'],
          '--promote-from "prod": that is the environment being deployed; promote from an environment before it (dev, staging)',
        ],
        [
          ['--unverified-reason', 'hotfix for INC-4711', '--redeploy'],
          '--unverified-reason: --redeploy deploys the tags this environment verified already, so there is nothing to let through',
        ],
        [
          ['--promote-from-dir', 'elsewhere'],
          '--promote-from-dir applies to a promotion: give --promote-from <upstream environment> too',
        ],
        [
          ['--promote-from', 'staging', '--unverified-reason', 'hotfix'],
          '--unverified-reason "hotfix": say why in 10+ characters (it is recorded in the run\'s note)',
        ],
        [
          ['--promote-from', 'staging'],
          '--promote-from with --dir: give the services stack of staging too (--promote-from-dir <dir>)',
        ],
        [
          ['--promote-from', 'staging', '--redeploy'],
          '--promote-from: --redeploy deploys the tags this environment verified already; promote with a plain deploy',
        ],
      ];
      for (const [args, message] of usageErrors) {
        const result = await deploy(...args);
        expect([args, result.code, result.stderr]).toEqual([args, 1, `gantry: ${message}`]);
      }
      expect(await runs()).toBe(before);

      // Through the upstream's own release facts: staging never verified api v9, so prod refuses it.
      const stagingDir = terraformDir({}, 'staging-services', {
        environment: 'staging',
        requiredApprovals: 1,
        approvalEnvironments: ['staging'],
      });
      fs.writeFileSync(
        path.join(stagingDir, 'release.tf.json'),
        JSON.stringify({
          '//': {
            [RELEASE_FACTS_KEY]: {
              ...releaseFacts,
              cluster: 'acme-staging',
              services: [
                {
                  ...releaseFacts.services[0],
                  repository: '222222222222.dkr.ecr.eu-west-1.amazonaws.com/acme/api',
                },
              ],
              upstreamEnvironments: ['dev'],
            },
          },
        }),
      );
      const refused = await deploy(
        '--promote-from',
        'staging',
        '--promote-from-dir',
        stagingDir,
        '--tag',
        'api=v9',
        '--json',
      );
      expect(refused.code).toBe(3);
      const result = JSON.parse(refused.stdout) as { outcome: string; reason: string; runId: string };
      expect(result.outcome).toBe('refused');
      expect(result.reason).toMatch(
        /^promotion from staging refused: api \(tag v9\): staging has no verified deployment of this tag with a digest in the ledger; prod requires 2 approval\(s\)/,
      );
      await withLedger(async (ledger) => {
        expect(await ledger.getRun(result.runId)).toMatchObject({ action: 'deploy', status: 'refused' });
      });
    });

    test('deploy without --promote-from into an environment that requires approvals: a digest staging never verified is refused (exit 3) before any plan; --unverified-reason where nothing is gated is a usage error', async () => {
      const stackDir = terraformDir({}, 'prod-services', PROD_FACTS);
      fs.writeFileSync(
        path.join(stackDir, 'release.tf.json'),
        JSON.stringify({ '//': { [RELEASE_FACTS_KEY]: releaseFacts } }),
      );
      const refused = await gantry(
        ['deploy', 'prod', '--dir', stackDir, '--tag', 'api=v8', '--json'],
        env({ GANTRY_COMMIT_SHA: '3'.repeat(40) }),
      );
      expect(refused.code).toBe(3);
      const result = JSON.parse(refused.stdout) as { outcome: string; reason: string; runId: string };
      expect(result).toMatchObject({
        outcome: 'refused',
        reason:
          'prod requires 2 approval(s) and deploys only digests verified in staging: ' +
          `api (tag v8, ${DIGEST_IN_ECR}): staging has no verified deployment of this tag in the ledger ` +
          '(deploy it to staging first, promote it with --promote-from staging, or give --unverified-reason "...")',
      });
      await withLedger(async (ledger) => {
        expect(await ledger.getRun(result.runId)).toMatchObject({ action: 'deploy', status: 'refused' });
        expect(await ledger.listRuns({ stack: 'prod-services', action: 'plan' })).toEqual([]);
      });
      // dev: the first environment, and it requires no approval: a reason lets nothing through there.
      const devDir = terraformDir({}, 'dev-services', { environment: 'dev', requiredApprovals: 0 });
      fs.writeFileSync(
        path.join(devDir, 'release.tf.json'),
        JSON.stringify({
          '//': { [RELEASE_FACTS_KEY]: { ...releaseFacts, cluster: 'acme-dev', upstreamEnvironments: [] } },
        }),
      );
      const usage = await gantry(
        ['deploy', 'dev', '--dir', devDir, '--tag', 'api=v8', '--unverified-reason', 'INC-4711: no reason'],
        env({ GANTRY_COMMIT_SHA: '3'.repeat(40) }),
      );
      expect([usage.code, usage.stderr]).toEqual([
        1,
        'gantry: --unverified-reason: dev is the first environment: nothing before it verifies a digest, so there is nothing to let through',
      ]);
    });

    test('where the facts require signatures, deploy and rollback verify keyless without a flag: cosign missing is refused (exit 3), --image-key or another mode is a usage error', async () => {
      const stackDir = terraformDir({}, 'prod-services', PROD_FACTS);
      fs.writeFileSync(
        path.join(stackDir, 'release.tf.json'),
        JSON.stringify({ '//': { [RELEASE_FACTS_KEY]: { ...releaseFacts, requireSignatures: true } } }),
      );
      const args = ['deploy', 'prod', '--dir', stackDir, '--tag', 'api=v5', '--json'];
      const sha = { GANTRY_COMMIT_SHA: '1'.repeat(40) };
      // A PATH with no cosign on it.
      const refused = await gantry(args, env({ ...sha, PATH: fs.mkdtempSync(path.join(stackDir, 'bin-')) }));
      expect(refused.code).toBe(3);
      const result = JSON.parse(refused.stdout) as { outcome: string; reason: string; runId: string };
      expect(result.outcome).toBe('refused');
      expect(result.reason).toMatch(
        /^image signature check failed: cosign is not installed or not on PATH \(spawn cosign ENOENT\): install cosign v2 .*sigstore\/cosign-installer/,
      );
      await withLedger(async (ledger) => {
        expect(await ledger.getRun(result.runId)).toMatchObject({ action: 'deploy', status: 'refused' });
        expect(await ledger.listRuns({ stack: 'prod-services', action: 'plan' })).toEqual([]);
      });
      const key = await gantry([...args, '--image-key', 'cosign.pub'], env(sha));
      expect(key.code).toBe(1);
      expect(key.stderr).toBe(
        'gantry: --image-key checks key-based signatures, and prod requires keyless ones (release.requireSignatures): drop --image-key',
      );
      const mode = await gantry([...args, '--verify-signatures', 'key'], env(sha));
      expect(mode.code).toBe(1);
      expect(mode.stderr).toBe(
        'gantry: --verify-signatures "key": the mode is keyless (key-based signatures: --image-key)',
      );

      // A rollback re-applies tags verified before, and checks their signatures again: without cosign, refused.
      await withLedger((ledger) =>
        recordDeploy(ledger, 'prod', '4'.repeat(40), { api: ['v4', DIGEST_IN_ECR] }, 'verified'),
      );
      const back = await gantry(
        ['rollback', 'prod', '--dir', stackDir, '--json'],
        env({ ...sha, PATH: fs.mkdtempSync(path.join(stackDir, 'bin-')) }),
      );
      expect(back.code).toBe(3);
      const rolled = JSON.parse(back.stdout) as { outcome: string; reason: string; runId: string };
      expect(rolled.outcome).toBe('refused');
      expect(rolled.reason).toMatch(/^image signature check failed: cosign is not installed or not on PATH/);
      await withLedger(async (ledger) => {
        expect(await ledger.getRun(rolled.runId)).toMatchObject({ action: 'rollback', status: 'refused' });
      });
    });

    describeWithTerraform('gantry deploy on real Terraform', () => {
      const ecs = mockClient(ECSClient);
      let server: http.Server;
      let base = '';
      beforeAll(async () => {
        server = http.createServer((_req, res) => res.writeHead(200).end('ok'));
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      });
      afterAll(async () => {
        ecs.restore();
        await new Promise((resolve) => server.close(resolve));
      });

      test('plans and applies the new tag through the guards, follows ECS, verifies, and records every step', async () => {
        const stackDir = terraformDir(
          {
            variable: { image_tag_api: { type: 'string', default: 'v1' } },
            resource: { terraform_data: { api: { input: '${var.image_tag_api}' } } },
          },
          'dev-services',
          { services: [{ name: 'api', imageTagVariable: 'image_tag_api' }] },
        );
        const facts = {
          ...releaseFacts,
          cluster: 'acme-dev',
          services: [{ ...releaseFacts.services[0], verify: { url: `${base}/health`, bodyMatch: 'ok' } }],
        };
        fs.writeFileSync(
          path.join(stackDir, 'release.tf.json'),
          JSON.stringify({ '//': { [RELEASE_FACTS_KEY]: facts } }),
        );
        // Before the apply ECS runs revision 1; after it, revision 2, completed.
        const running = (revision: number) => ({
          services: [
            {
              serviceName: 'api',
              deployments: [
                {
                  status: 'PRIMARY',
                  taskDefinition: `arn:aws:ecs:eu-west-1:111111111111:task-definition/acme-dev-api:${revision}`,
                  rolloutState: 'COMPLETED' as const,
                  runningCount: 1,
                  desiredCount: 1,
                },
              ],
            },
          ],
        });
        ecs.on(DescribeServicesCommand).resolvesOnce(running(1)).resolves(running(2));
        const commit = 'd'.repeat(40);
        // A handoff bound to this commit names another tag: --tag wins, and the deploy's plan takes the tags
        // it is given, never a second value from GANTRY_IMAGE_TAGS (as a rollback's older tags would be).
        const handoff = JSON.stringify({ commit, tags: { api: 'v9' }, run: { id: 7, attempt: 1 } });
        const result = await gantry(
          ['deploy', 'dev', '--dir', stackDir, '--tag', 'api=v2', '--poll-interval', '0.001', '--json'],
          env({ GANTRY_COMMIT_SHA: commit, GANTRY_ACTOR: 'octocat', GANTRY_IMAGE_TAGS: handoff }),
        );
        expect(result.code).toBe(0);
        const outcome = JSON.parse(result.stdout) as {
          outcome: string;
          deployments: { service: string; imageTag: string; status: string; digest: string | null }[];
        };
        expect(outcome.outcome).toBe('verified');
        expect(outcome.deployments.map((d) => [d.service, d.imageTag, d.status, d.digest])).toEqual([
          ['api', 'v2', 'verified', DIGEST_IN_ECR],
        ]);
        expect(result.stderr).toContain(
          '[rollout] api: COMPLETED, running 1/1, failed tasks 0 (acme-dev-api:2)',
        );
        expect(result.stderr).toContain('[verify] api: status 200, body matches /ok/ (try 1/30)');
        // Terraform really applied the tag.
        const state = JSON.parse(fs.readFileSync(path.join(stackDir, 'terraform.tfstate'), 'utf8')) as {
          resources: { instances: { attributes: { input: { value: string } } }[] }[];
        };
        expect(state.resources[0].instances[0].attributes.input.value).toBe('v2');
        await withLedger(async (ledger) => {
          const runs = await ledger.listRuns({ stack: 'dev-services', limit: 3 });
          // Newest first: the deploy run was written first and closed last.
          expect(runs.map((r) => [r.action, r.status, r.commitSha])).toEqual([
            ['apply', 'applied', commit],
            ['plan', 'planned', commit],
            ['deploy', 'succeeded', commit],
          ]);
        });
      });
    });
  });
}
