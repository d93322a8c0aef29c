/**
 * The ECR reader of `gantry deploy` (`release/ecr.ts`): DescribeImages at the wire level
 * (aws-sdk-client-mock) for what ECR answers, and a local server that never answers for the time limit.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DescribeImagesCommand,
  ECRClient,
  ECRServiceException,
  ImageNotFoundException,
  RepositoryNotFoundException,
} from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { parseRepository, resolveImageDigests } from '../../lib/runtime/release/ecr';
import { Redactor } from '../../lib/runtime/redaction';

const REPOSITORY = '333333333333.dkr.ecr.eu-west-1.amazonaws.com/acme/api';
const DIGEST = `sha256:${'a'.repeat(64)}`;
const SECRET = 'session-token-0123456789abcdef';
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' };
const redactor = new Redactor();
redactor.addSecretValue(SECRET);
const scrub = (text: string) => redactor.scrub(text);

describe('parseRepository', () => {
  test('an ECR repository URI names the registry (its account), its region and the repository', () => {
    expect(parseRepository(REPOSITORY)).toEqual({
      registryId: '333333333333',
      region: 'eu-west-1',
      name: 'acme/api',
    });
    expect(parseRepository('444444444444.dkr.ecr.cn-north-1.amazonaws.com.cn/a/b/c')).toEqual({
      registryId: '444444444444',
      region: 'cn-north-1',
      name: 'a/b/c',
    });
    expect(parseRepository('acme/api')).toEqual({ name: 'acme/api' });
  });

  test('a tag, a digest, another registry or an invalid name is no repository', () => {
    for (const bad of [
      `${REPOSITORY}:v1`,
      `${REPOSITORY}@${DIGEST}`,
      'ghcr.io/acme/api',
      '33333333333.dkr.ecr.eu-west-1.amazonaws.com/acme/api',
      'Acme/API',
      '',
    ])
      expect(parseRepository(bad)).toEqual({
        problem: `${JSON.stringify(bad)} is not an ECR repository (<account>.dkr.ecr.<region>.amazonaws.com/<name>, or a repository name)`,
      });
  });
});

describe('resolveImageDigests', () => {
  const ecr = mockClient(ECRClient);
  const client = new ECRClient({ region: 'eu-west-1', credentials });
  const api = { service: 'api', repository: REPOSITORY, tag: 'v1' };
  beforeEach(() => ecr.reset());
  afterAll(() => ecr.restore());

  test('asks DescribeImages for the tag in the registry of the URI, and returns the digest', async () => {
    ecr.on(DescribeImagesCommand).resolves({
      imageDetails: [{ repositoryName: 'acme/api', imageTags: ['v1', 'latest'], imageDigest: DIGEST }],
    });
    const byName = { service: 'worker', repository: 'acme/worker', tag: 'v2' };
    expect(await resolveImageDigests(client, [api, byName], scrub)).toEqual([
      { ...api, digest: DIGEST },
      { ...byName, digest: DIGEST },
    ]);
    expect(ecr.commandCalls(DescribeImagesCommand).map((c) => c.args[0].input)).toEqual([
      { registryId: '333333333333', repositoryName: 'acme/api', imageIds: [{ imageTag: 'v1' }] },
      { repositoryName: 'acme/worker', imageIds: [{ imageTag: 'v2' }] },
    ]);
  });

  test('a missing tag, a missing repository, or no image in the answer is a problem of its kind', async () => {
    ecr
      .on(DescribeImagesCommand)
      .rejectsOnce(new ImageNotFoundException({ $metadata: {}, message: 'no such image' }))
      .rejectsOnce(new RepositoryNotFoundException({ $metadata: {}, message: 'no such repository' }))
      .resolvesOnce({ imageDetails: [] });
    expect(await resolveImageDigests(client, [api, api, api], scrub)).toEqual([
      { ...api, problem: { kind: 'tag-missing', detail: 'no image has this tag in the repository' } },
      {
        ...api,
        problem: { kind: 'repository-missing', detail: 'no such repository in registry 333333333333' },
      },
      { ...api, problem: { kind: 'tag-missing', detail: 'no image has this tag in the repository' } },
    ]);
  });

  test('access denied, a malformed digest, several images or another region is unreadable (fail closed), redacted', async () => {
    ecr
      .on(DescribeImagesCommand)
      .rejectsOnce(
        new ECRServiceException({
          name: 'AccessDeniedException',
          $fault: 'client',
          $metadata: {},
          message: `not authorized to perform: ecr:DescribeImages (${SECRET})`,
        }),
      )
      .resolvesOnce({ imageDetails: [{ imageDigest: 'sha256:abc' }] })
      .resolvesOnce({ imageDetails: [{}] })
      .resolvesOnce({ imageDetails: [{ imageDigest: DIGEST }, { imageDigest: `sha256:${'b'.repeat(64)}` }] });
    const elsewhere = { ...api, repository: '333333333333.dkr.ecr.us-east-1.amazonaws.com/acme/api' };
    const invalid = { ...api, repository: `${REPOSITORY}:v1` };
    const found = await resolveImageDigests(client, [api, api, api, api, elsewhere, invalid], scrub);
    expect(found.map((f) => f.problem)).toEqual([
      {
        kind: 'unreadable',
        detail:
          'ECR DescribeImages failed: AccessDeniedException: not authorized to perform: ecr:DescribeImages ((redacted))',
      },
      { kind: 'unreadable', detail: 'ECR answered digest "sha256:abc", not sha256:<64 hex>' },
      { kind: 'unreadable', detail: 'ECR answered digest null, not sha256:<64 hex>' },
      {
        kind: 'unreadable',
        detail: `ECR answered several images for the tag ("${DIGEST}", "sha256:${'b'.repeat(64)}")`,
      },
      { kind: 'unreadable', detail: 'the repository is in us-east-1, the registry client reads eu-west-1' },
      {
        kind: 'unreadable',
        detail: `${JSON.stringify(invalid.repository)} is not an ECR repository (<account>.dkr.ecr.<region>.amazonaws.com/<name>, or a repository name)`,
      },
    ]);
    // Neither the other region nor the invalid repository was asked.
    expect(ecr.commandCalls(DescribeImagesCommand)).toHaveLength(4);
  });
});

describe('resolveImageDigests against a registry that never answers', () => {
  let server: http.Server;
  let endpoint: string;
  beforeAll(async () => {
    // Takes each request and never answers it.
    server = http.createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  test('gives up after the time limit: unreadable, saying so', async () => {
    const client = new ECRClient({ region: 'eu-west-1', endpoint, credentials, maxAttempts: 1 });
    try {
      const [found] = await resolveImageDigests(
        client,
        [{ service: 'api', repository: REPOSITORY, tag: 'v1' }],
        scrub,
        200,
      );
      expect(found.problem).toEqual({
        kind: 'unreadable',
        detail: 'ECR did not answer DescribeImages within 0.2 s',
      });
    } finally {
      client.destroy();
    }
  });
});
