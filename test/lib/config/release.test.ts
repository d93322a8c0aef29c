import { referenceConfig } from '../../../environments';
import { pushDeployEnvironments, type GantryConfig, type ReleaseConfig } from '../../../lib/config';
import { Policy } from '../../../lib/policy/policy';
import { App } from 'cdktf';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createStacks } from '../../../stacks';
import { problemsOf, withEnvironment } from '../../util';

const ADMIN = { name: 'admin', repository: 'acme/admin', services: ['admin', 'admin-frontend'] };
const withRelease = (release: ReleaseConfig, base: GantryConfig = referenceConfig): GantryConfig => ({
  ...base,
  release,
});

describe('release configuration', () => {
  test('a release with a source repository passes', () => {
    expect(problemsOf(withRelease({ sourceRepositories: [ADMIN], scan: { failOn: 'critical' } }))).toEqual(
      [],
    );
  });

  test.each([
    [
      { publishEnvironments: ['qa'] },
      'release.publishEnvironments[0]: "qa" is not a configured environment, allowed: "dev", "staging", "prod"',
    ],
    [{ publishEnvironments: [] }, 'release.publishEnvironments: [] must list at least one environment'],
    [
      { sourceRepositories: [{ ...ADMIN, services: ['billing'] }] },
      'release.sourceRepositories[0].services[0]: "billing" is not a service of publish environment "dev", allowed: "api", "admin", "admin-frontend", "worker"',
    ],
    [
      { sourceRepositories: [{ ...ADMIN, repository: 'acme/platform' }] },
      `release.sourceRepositories[0].repository: "acme/platform" is this configuration's own repository`,
    ],
    [
      { sourceRepositories: [{ ...ADMIN, repository: 'acme/*' }] },
      'release.sourceRepositories[0].repository: "acme/*" is not of the form owner/name',
    ],
    [
      { sourceRepositories: [ADMIN, { ...ADMIN, name: 'admin2', repository: 'acme/admin2' }] },
      'release.sourceRepositories[1].services[0]: "admin" is already published by source "admin"',
    ],
    [
      { sourceRepositories: [{ ...ADMIN, name: 'Admin' }] },
      'release.sourceRepositories[0].name: "Admin" must match',
    ],
    [
      { sourceRepositories: [{ ...ADMIN, name: 'main' }] },
      `release.sourceRepositories[0].name: "main" is reserved: <org>-<env>-gh-publish-main is the default branch's publish role`,
    ],
    [
      { scan: { failOn: 'severe' } },
      'release.scan.failOn: "severe" is not one of "critical", "high", "medium", "low"',
    ],
  ])('refuses %j', (release, message) => {
    const problems = problemsOf(withRelease(release as ReleaseConfig));
    expect(problems.some((p) => p.startsWith(message))).toBe(true);
  });

  test('source paths are validated', () => {
    const config = withEnvironment('dev', (env) => ({
      ...env,
      services: env.services.map((s, i) => (i === 0 ? { ...s, sourcePaths: ['../secrets', '/etc'] } : s)),
    }));
    expect(problemsOf(config)).toEqual([
      expect.stringMatching(
        /^dev\.services\[0\]\.sourcePaths\[0\]: "\.\.\/secrets" is not a relative repository path/,
      ),
      expect.stringMatching(
        /^dev\.services\[0\]\.sourcePaths\[1\]: "\/etc" is not a relative repository path/,
      ),
    ]);
  });

  test('the publish environment gets one role for this repository and one per source, passing the policy', () => {
    const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-release-')) });
    const stacks = createStacks(
      app,
      withRelease({ publishEnvironments: ['dev'], sourceRepositories: [ADMIN] }),
    );
    const dev = stacks.environments.get('dev')!.foundation;
    const prod = stacks.environments.get('prod')!.foundation;
    expect(dev.publishRoles?.publisherRoleArn).toBe('arn:aws:iam::111111111111:role/acme-dev-gh-publish');
    expect(dev.publishRoles?.sourceRoleArns).toEqual({
      'acme/admin': 'arn:aws:iam::111111111111:role/acme-dev-gh-publish-admin',
    });
    expect(prod.publishRoles).toBeUndefined();
    expect(Policy.check(dev).violations).toEqual([]);
  });

  test("the environments pushes deploy get the default branch's publish role, for the services built here only", () => {
    expect(pushDeployEnvironments(referenceConfig)).toEqual(['dev']);
    const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-release-')) });
    const stacks = createStacks(
      app,
      withRelease({ publishEnvironments: ['staging'], sourceRepositories: [ADMIN] }),
    );
    const dev = stacks.environments.get('dev')!.foundation;
    expect(dev.publishRoles?.branchPublisherRoleArn).toBe(
      'arn:aws:iam::111111111111:role/acme-dev-gh-publish-main',
    );
    expect(dev.publishRoles?.publisherRoleArn).toBeUndefined();
    const staging = stacks.environments.get('staging')!.foundation;
    expect(staging.publishRoles?.publisherRoleArn).toBeDefined();
    expect(staging.publishRoles?.branchPublisherRoleArn).toBeUndefined();
    expect(Policy.check(dev).violations).toEqual([]);
    const { release: _release, ...withoutRelease } = referenceConfig;
    const plain = createStacks(
      new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'gantry-release-')) }),
      withoutRelease,
    );
    expect(plain.environments.get('dev')!.foundation.publishRoles).toBeUndefined();
  });
});
