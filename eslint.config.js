// Lint rules: typescript-eslint's recommended type-aware set, plus the
// architecture: dependencies between packages point one way (libutil <- bio
// <- softraid; bio <- bioctl; bio <- sensors; libutil <- ifstated), and softraid's engine is platform-free.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const scope = '@openbsd38';
const packageNames = ['libutil', 'bio', 'sensors', 'sensorsd', 'softraid', 'bioctl', 'ifstated'];

/** Import patterns naming the packages `name` may not depend on (and itself by name). */
function otherPackages(name, allowed) {
  return packageNames.filter((other) => !allowed.includes(other)).map((other) => ({
    group: [`${scope}/${other}`, `${scope}/${other}/*`],
    message: other === name ? `inside ${scope}/${name}, import by relative path` : `${scope}/${name} does not depend on ${scope}/${other} (libutil <- bio <- softraid; bio <- bioctl; bio <- sensors)`,
  }));
}

/** One rule per package: it imports only the packages it depends on, and nothing outside itself by relative path. */
function packageBoundaries(graph, folder = '**') {
  return Object.entries(graph).map(([name, allowed]) => ({
    files: [`packages/${name}/${folder}/**/*.ts`],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [...otherPackages(name, allowed), {
          group: ['../../../../*', '../../../../../*'],
          message: 'a relative import may not leave its package: import the package by name',
        }],
      }],
    },
  }));
}

export default tseslint.config(
  { ignores: ['**/dist/', 'node_modules/', 'state/', '**/*.wasm'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }],
      }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  ...packageBoundaries({
    libutil: [],
    bio: ['libutil'],
    sensors: ['libutil', 'bio'],
    sensorsd: ['libutil', 'bio', 'sensors'],
    softraid: ['libutil', 'bio', 'sensors', 'md'],
    md: ['libutil', 'bio'],
    bioctl: ['libutil', 'bio', 'md'],
    ifstated: ['libutil'],
  }),
  // bioctl's and sensorsd's end-to-end tests run them against a real softraidd (a development dependency).
  ...packageBoundaries({ bioctl: ['libutil', 'bio', 'md', 'softraid'], sensorsd: ['libutil', 'bio', 'sensors', 'softraid'] }, 'tests'),
  {
    files: ['packages/softraid/src/engine/**/*.ts'],
    ignores: ['packages/softraid/src/engine/**/*.test.ts', 'packages/softraid/src/engine/**/*.test-helper.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['node:*', 'fs', 'net', 'fs/*', 'child_process', '../chunk/*', '../../chunk/*', '../nbd/*', '../../nbd/*'],
          message: 'softraid\'s engine is platform-free: inject I/O through ChunkBackend instead.' }, ...otherPackages('softraid', ['libutil', 'bio'])],
      }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      parserOptions: { projectService: false, program: null, project: false },
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly' },
    },
  },
);
