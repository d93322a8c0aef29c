import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RuntimeError } from '../../lib/runtime/errors';
import { openLedger, type Ledger } from '../../lib/runtime/ledger';
import { verifyImages, type ImageToVerify, type SignatureBundle } from '../../lib/runtime/signatures';
import { gantry, tempDir } from './helpers';
import { signedBundle } from './signing';

const REPO = '111111111111.dkr.ecr.eu-west-1.amazonaws.com/acme/api';
const DIGEST = `sha256:${'a'.repeat(64)}`;
const OTHER_DIGEST = `sha256:${'b'.repeat(64)}`;
const trusted = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const stranger = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

/** A Cosign simple-signing signature of `repository@digest`, made here with a test key. */
const bundle = (privateKey: KeyObject, repository = REPO, digest = DIGEST): SignatureBundle =>
  signedBundle(privateKey, repository, digest);

describe('verifyImages', () => {
  let ledger: Ledger;
  beforeAll(async () => {
    ledger = await openLedger('pglite:memory');
    await ledger.migrate();
  });
  afterAll(() => ledger.close());

  const check = (images: ImageToVerify[]) =>
    verifyImages({
      ledger,
      environment: 'prod',
      images,
      keys: [trusted.publicKey],
      run: { commitSha: 'c0ffee' },
    });

  test('a signature of that digest by a trusted key passes and returns the digests', async () => {
    await expect(
      check([{ service: 'api', repository: REPO, digest: DIGEST, bundle: bundle(trusted.privateKey) }]),
    ).resolves.toEqual({
      api: DIGEST,
    });
  });

  test.each([
    ['an unsigned image', undefined, 'no signature found (unsigned image)'],
    ['an image signed by another key', bundle(stranger.privateKey), 'does not verify under any trusted key'],
    [
      'a signature of another digest',
      bundle(trusted.privateKey, REPO, OTHER_DIGEST),
      `the signature is for "${OTHER_DIGEST}"`,
    ],
    [
      'a signature of another repository',
      bundle(trusted.privateKey, `${REPO}-copy`),
      'the signature is for repository',
    ],
    [
      'a tampered signature',
      { ...bundle(trusted.privateKey), signature: Buffer.from('nope').toString('base64') },
      'does not verify',
    ],
  ])('refuses %s: exit 3 and a refused row naming why', async (_name, signed, message) => {
    const error = (await check([{ service: 'api', repository: REPO, digest: DIGEST, bundle: signed }]).catch(
      (e: unknown) => e,
    )) as RuntimeError;
    expect(error).toBeInstanceOf(RuntimeError);
    expect(error.exitCode).toBe(3);
    expect(error.message).toContain(message);
    const [row] = await ledger.listRuns({ stack: 'prod-services', limit: 1 });
    expect(row).toMatchObject({
      status: 'refused',
      action: 'apply',
      environment: 'prod',
      commitSha: 'c0ffee',
    });
    expect(row.errorSummary).toContain(message);
  });

  test('one bad image refuses the whole deploy', async () => {
    const error = (await check([
      { service: 'api', repository: REPO, digest: DIGEST, bundle: bundle(trusted.privateKey) },
      { service: 'worker', repository: REPO.replace('api', 'worker'), digest: DIGEST },
    ]).catch((e: unknown) => e)) as RuntimeError;
    expect(error.exitCode).toBe(3);
    expect(error.message).toContain('worker (');
    expect(error.message).not.toContain('api (');
  });
});

describe('gantry verify-images', () => {
  test('reads the key file and the recorded bundles, and refuses an unsigned image with exit 3', async () => {
    const dir = tempDir('verify-images');
    fs.writeFileSync(path.join(dir, 'key.pem'), trusted.publicKey.export({ type: 'spki', format: 'pem' }));
    fs.mkdirSync(path.join(dir, 'bundles'));
    fs.writeFileSync(path.join(dir, 'bundles', 'api.json'), JSON.stringify(bundle(trusted.privateKey)));
    const env = { GANTRY_LEDGER_URL: 'pglite:memory' };
    const args = [
      'verify-images',
      'prod',
      '--key',
      'key.pem',
      '--bundles',
      'bundles',
      '--image',
      `api=${REPO}@${DIGEST}`,
    ];
    const refused = await gantry(
      [...args, '--image', `worker=${REPO.replace('api', 'worker')}@${DIGEST}`],
      env,
      dir,
    );
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(
      /refused \(ledger row \S+\): image signature check failed: worker .*unsigned image/,
    );
  });
});
