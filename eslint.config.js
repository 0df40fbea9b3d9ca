// ESLint flat config: type-aware typescript-eslint rules (floating promises, unsafe any) over the
// packages' sources and the tests. Types come from each folder's tsconfig.json through the
// project service; test folders have their own (tsconfig.test.json: type information, no emit).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const typeAware = {
  '@typescript-eslint/no-floating-promises': 'error',
  '@typescript-eslint/no-misused-promises': 'error',
  '@typescript-eslint/no-unsafe-assignment': 'error',
  '@typescript-eslint/no-unsafe-member-access': 'error',
  '@typescript-eslint/no-unsafe-call': 'error',
  '@typescript-eslint/no-unsafe-return': 'error',
  '@typescript-eslint/no-unsafe-argument': 'error',
  // Catch blocks hand the caught value on unchanged (unknown: whatever was thrown).
  '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
  // A leading underscore marks a value kept for its position (a callback's parameters, a rest
  // sibling that drops keys from a copy).
  '@typescript-eslint/no-unused-vars': [
    'error',
    { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
  ],
  // \`async\` without \`await\` is deliberate here: it turns a synchronous throw into a rejection, so
  // a function that returns a promise never also throws.
  '@typescript-eslint/require-await': 'off',
};

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.tmp/**'] },
  // Scripts, benchmarks, fixtures and examples in plain JavaScript: ESLint's recommended rules.
  {
    files: ['**/*.{js,mjs,cjs}'],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.node },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: ['packages/*/src/**/*.ts', 'packages/*/test/**/*.ts', 'examples/test/**/*.ts', 'test-support/**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: typeAware,
  },
  {
    // Tests read JSON from child processes, CLI output and records (typed any), then assert on
    // it with expect(), which checks the shape at run time: typing every parse would add casts,
    // not safety. Floating and misused promises stay errors here too.
    files: ['packages/*/test/**/*.ts', 'examples/test/**/*.ts', 'test-support/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
);
