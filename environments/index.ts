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
};
