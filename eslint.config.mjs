// ESLint flat config: typescript-eslint recommended rules, no `any` in public code.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'cdktf.out/', 'dist/', 'coverage/', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@cdktf/provider-aws',
              message: 'Import provider classes by deep path (@cdktf/provider-aws/lib/<resource>).',
            },
            {
              name: '@cdktf/provider-github',
              message: 'Import provider classes by deep path (@cdktf/provider-github/lib/<resource>).',
            },
          ],
        },
      ],
    },
  },
);
