/**
 * `npm test`'s static checks, side by side (each is mostly one core): the type-check, ESLint and
 * Prettier. Each one's output is printed whole once it ends; the exit code is non-zero when any
 * failed. `npm run typecheck` / `npm run lint` run them one by one.
 */
const { spawn } = require('node:child_process');
const path = require('node:path');

const bin = (pkg, file) => path.join(__dirname, '..', 'node_modules', pkg, file);
const CHECKS = [
  ['typecheck', [bin('typescript', 'bin/tsc'), '--noEmit', '-p', 'tsconfig.json']],
  ['eslint', [bin('eslint', 'bin/eslint.js'), '.']],
  ['prettier', [bin('prettier', 'bin/prettier.cjs'), '--check', '--log-level', 'warn', '.']],
];

function run([name, args]) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, args, { cwd: path.join(__dirname, '..') });
    const output = [];
    child.stdout.on('data', (b) => output.push(b));
    child.stderr.on('data', (b) => output.push(b));
    const seconds = () => ((Date.now() - started) / 1000).toFixed(1);
    child.on('error', (error) => resolve({ name, code: 1, text: String(error), seconds: seconds() }));
    child.on('close', (code) =>
      resolve({ name, code: code ?? 1, text: Buffer.concat(output).toString(), seconds: seconds() }),
    );
  });
}

Promise.all(CHECKS.map(run)).then((results) => {
  for (const { name, code, text, seconds } of results) {
    process.stdout.write(`${code === 0 ? 'ok' : 'FAILED'}: ${name} (${seconds} s)\n${text}`);
  }
  process.exitCode = results.some((r) => r.code !== 0) ? 1 : 0;
});
