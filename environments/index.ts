/**
 * The reference configuration: the `acme/platform` repository deploying to three accounts. One user of
 * Gantry's library, not its centre: another app builds its own `GantryConfig` the same way.
 */
import type { GantryConfig } from '../lib/config';
import { dev } from './dev';
import { organization } from './organization';
import { prod } from './prod';
import { staging } from './staging';

/** The reference configuration, in deployment order. */
export const referenceConfig: GantryConfig = {
  organization,
  environments: [dev, staging, prod],
  release: {
    // The admin app builds its two images in its own repository and hands them over (image-published).
    sourceRepositories: [{ name: 'admin', repository: 'acme/admin', services: ['admin', 'admin-frontend'] }],
    scan: { failOn: 'high' },
  },
};
