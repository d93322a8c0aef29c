import { Testing } from 'cdktf';
// Brings the matchers' type declarations (`declare global { namespace jest ... }`) into `tsc`.
import type {} from 'cdktf/lib/testing/adapters/jest';

// cdktf's Jest matchers: toHaveResource, toHaveResourceWithProperties, toHaveDataSource, ...
Testing.setupJest();
