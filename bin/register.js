// Require hook: transpiles TypeScript sources on load with SWC (no type-checking; `npm run typecheck`
// does that). Used by `npm run synth`, cdktf.json's `app` and the `gantry` CLI, so they run from source
// with ~50 ms of start-up instead of ts-node's compile.
'use strict';
const Module = require('module');
const { transformSync } = require('@swc/core');

const options = {
  jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
  swcrc: false,
  configFile: false,
};

Module._extensions['.ts'] = function compileTs(module, filename) {
  const source = require('fs').readFileSync(filename, 'utf8');
  const { code } = transformSync(source, { ...options, filename });
  module._compile(code, filename);
};
