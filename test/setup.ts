import { Testing } from 'cdktf';

// cdktf's Jest matchers: toHaveResource, toHaveResourceWithProperties, toHaveDataSource, ...
Testing.setupJest();
