// Require hook: transpiles TypeScript sources on load with SWC (no type-checking; `npm run typecheck`
// does that). Used by `npm run synth`, cdktf.json's `app` and the `gantry` CLI, so they run from source
// with ~50 ms of start-up instead of ts-node's compile.
//
// Transpiled output is cached in node_modules/.cache/gantry-swc/, keyed by a hash of the file's path,
// its source, the SWC version and the options; a run that finds every file there never loads
// @swc/core (its native binding) and transpiles nothing. GANTRY_SWC_CACHE=0 turns the cache off.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const Module = require('module');
const path = require('path');

const options = {
  jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
  swcrc: false,
  configFile: false,
};

const root = path.resolve(__dirname, '..');
const cacheDir =
  process.env.GANTRY_SWC_CACHE === '0' ? undefined : path.join(root, 'node_modules', '.cache', 'gantry-swc');
let salt;
let swc;

/** What else the output depends on: the SWC version (read without loading SWC) and the options. */
function cacheSalt() {
  if (salt === undefined) {
    let version = 'unknown';
    try {
      version = JSON.parse(fs.readFileSync(require.resolve('@swc/core/package.json'), 'utf8')).version;
    } catch {
      // Unknown version: the key still changes with the source.
    }
    salt = `${version}\0${JSON.stringify(options)}\0`;
  }
  return salt;
}

function transpile(source, filename) {
  swc = swc || require('@swc/core');
  return swc.transformSync(source, { ...options, filename }).code;
}

function cached(source, filename) {
  if (!cacheDir) return transpile(source, filename);
  const key = crypto
    .createHash('sha256')
    .update(cacheSalt())
    .update(filename)
    .update('\0')
    .update(source)
    .digest('hex');
  const file = path.join(cacheDir, `${key}.js`);
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    // Not cached yet.
  }
  const code = transpile(source, filename);
  try {
    fs.mkdirSync(cacheDir, { recursive: true });
    // Write then rename: a concurrent reader sees the whole file or none.
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, code);
    fs.renameSync(tmp, file);
  } catch {
    // A read-only checkout still works, uncached.
  }
  return code;
}

Module._extensions['.ts'] = function compileTs(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  module._compile(cached(source, filename), filename);
};
