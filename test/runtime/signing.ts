/** Cosign signatures made in the tests with test keys (key-based "simple signing", as `cosign sign --key`). */
import { sign, type KeyObject } from 'node:crypto';
import { SIMPLE_SIGNING_TYPE, type SignatureBundle } from '../../lib/runtime/signatures';

/** A Cosign simple-signing signature of `repository@digest` by `privateKey`. */
export function signedBundle(privateKey: KeyObject, repository: string, digest: string): SignatureBundle {
  const payload = Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': repository },
        image: { 'docker-manifest-digest': digest },
        type: SIMPLE_SIGNING_TYPE,
      },
      optional: null,
    }),
  );
  return {
    payload: payload.toString('base64'),
    signature: sign('sha256', payload, privateKey).toString('base64'),
  };
}
