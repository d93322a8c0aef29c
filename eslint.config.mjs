// ESLint flat config: typescript-eslint recommended rules, no `any` in public code, and the direction of
// the layout: lib/ (the product) depends on nothing above it.
import tseslint from 'typescript-eslint';

const providerRoots = [
  {
    name: '@cdktf/provider-aws',
    message: 'Import provider classes by deep path (@cdktf/provider-aws/lib/<resource>).',
  },
  {
    name: '@cdktf/provider-github',
    message: 'Import provider classes by deep path (@cdktf/provider-github/lib/<resource>).',
  },
];

export default tseslint.config(
  { ignores: ['node_modules/', 'cdktf.out/', 'dist/', 'coverage/', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      'no-restricted-imports': ['error', { paths: providerRoots }],
    },
  },
  {
    // The library never imports one app's data (environments/) or its stacks (stacks/): a consumer's app
    // gets every capability through lib/ and the stack factory, with its own configuration.
    files: ['lib/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: providerRoots,
          patterns: [
            {
              group: ['**/environments', '**/environments/*', '**/stacks', '**/stacks/*', '**/bin/*'],
              message: 'lib/ is the product: it must not import environments/, stacks/ or bin/.',
            },
          ],
        },
      ],
    },
  },
);
