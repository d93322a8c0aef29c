#!/usr/bin/env node
// Launcher of the `gantry` CLI: runs bin/gantry.ts from source through the SWC require hook.
'use strict';
require('./register.js');
require('./gantry.ts');
