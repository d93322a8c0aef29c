import type { OrganizationConfig } from '../lib/config';

/** The organisation the reference configuration describes: one repository deploying to three accounts. */
export const organization = {
  name: 'acme',
  github: {
    repository: 'acme/platform',
    ownerId: 1000001,
    repositoryId: 2000002,
    defaultBranch: 'main',
    subjectFormat: 'name',
  },
} satisfies OrganizationConfig;
