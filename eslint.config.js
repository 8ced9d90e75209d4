// @ts-check
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');

module.exports = tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.tools/', 'coverage/', 'test-output/', 'bench-output/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        require: 'readonly',
        module: 'writable',
        process: 'readonly',
        __dirname: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        fetch: 'readonly',
        URL: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // Workflow code must be deterministic: no Node, AWS or activity implementations, no clocks or randomness.
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'fs', 'path', 'os', 'crypto', 'zlib', 'child_process', 'http', 'https', 'net'],
              message: 'workflow code must not use Node modules',
            },
            {
              group: ['@aws-sdk/*', '@temporalio/worker', '@temporalio/client', '@temporalio/activity'],
              message: 'workflow code must not use AWS or worker/client modules',
            },
            {
              group: ['../activities', '../activities/*', '!../activities/types'],
              message: 'import activity types only: `import type * as activities`',
              allowTypeImports: true,
            },
            {
              group: ['../sources/*', '../store/*', '../local/*', '../notify/*', '../cli/*'],
              message: 'workflow code must not import I/O modules (types only)',
              allowTypeImports: true,
            },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        {
          object: 'Date',
          property: 'now',
          message: 'use workflow time (Date.now() is deterministic in Temporal only through its sandbox; prefer workflowInfo)',
        },
        { object: 'Math', property: 'random', message: 'use uuid4() or Temporal-provided randomness' },
      ],
    },
  },
);
