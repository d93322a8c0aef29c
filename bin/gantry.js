#!/usr/bin/env node
// Launcher of the `gantry` CLI. An installed package runs the compiled JavaScript (dist/bin/gantry.js,
// runtime dependencies only); a source checkout of Gantry (lib/ holds the TypeScript) runs the sources
// through the SWC require hook, so edits take effect without a build.
'use strict';
const fs = require('fs');
const path = require('path');

if (fs.existsSync(path.join(__dirname, '..', 'lib', 'index.ts'))) {
  require('./register.js');
  require('./gantry.ts');
} else {
  require('../dist/bin/gantry.js');
}
