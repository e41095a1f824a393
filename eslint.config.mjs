// Type-aware lint for src/, test/ and bench/; formatting is Prettier's (eslint-config-prettier
// turns off every rule that would argue with it).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

// The layers of src/, top to bottom (docs/architecture.md, Layers, says why each boundary is
// where it is). A folder may import only folders of the layers below its own: not its
// peers, not anything above. Tests and benchmarks may import anything.
const LAYERS = [
  ['cli'],
  ['server', 'control', 'metrics', 'service-dir', 'privileges'],
  ['resolve', 'stats'],
  ['route'],
  ['transport', 'log', 'local'],
  ['config'],
  ['acl'],
  ['rules', 'cache', 'random'],
  ['wire', 'platform'],
];

// cli/, alone at the top, has nothing to be kept from (a zone with no `from` is invalid).
const layerZones = LAYERS.flatMap((layer, i) => {
  const upward = LAYERS.slice(0, i + 1).flat();
  const below = LAYERS.slice(i + 1).flat();
  return layer.map((folder) => ({
    target: `./src/${folder}`,
    from: upward.filter((f) => f !== folder).map((f) => `./src/${f}`),
    message: `src/${folder} may import only lower layers (${below.join(', ') || 'none'}): see docs/architecture.md, Layers`,
  }));
}).filter((zone) => zone.from.length > 0);

const nodeTest = {
  from: 'package',
  package: 'node:test',
  name: ['test', 'it', 'describe', 'suite', 'before', 'after'],
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test/deckard/**', 'bench/results/**', '*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's test() and describe() return promises the runner awaits itself.
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [nodeTest] }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      // Without .ts among its extensions, no-cycle does not follow an import into a .ts file, and finds nothing.
      'import-x/extensions': ['.ts'],
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.json' })],
    },
    rules: {
      // import-x skips `import type` here; test/unit/imports.test.ts counts those too.
      'import-x/no-cycle': 'error',
      'import-x/no-restricted-paths': ['error', { basePath: import.meta.dirname, zones: layerZones }],
    },
  },
  {
    // Tests read JSON (metrics, logs, control replies) whose shape they then assert: `any` there is
    // the point, and the assertions are the type check.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      // Fakes implement async interfaces without awaiting anything.
      '@typescript-eslint/require-await': 'off',
      // Assertion messages print lists of numbers.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowArray: true }],
      // `import fs = require('node:fs')` gives mock.method() the module object itself.
      '@typescript-eslint/no-require-imports': ['error', { allowAsImport: true }],
    },
  },
  prettier,
);
