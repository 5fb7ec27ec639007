// Shared jest settings: swc transform (fast, no type-check; `npm run typecheck` does that),
// workspace packages (and their subpath exports) resolved to their TypeScript sources so tests never need a build.
const path = require('path');
const root = path.resolve(__dirname, '..', '..');

/** @param {string} packageDir absolute path of the package, or the repo root for all packages */
module.exports = function preset(packageDir) {
  return {
    rootDir: packageDir,
    testEnvironment: path.join(__dirname, 'node-environment.js'),
    testMatch: ['**/src/**/*.test.ts'],
    testPathIgnorePatterns: ['/node_modules/', '/dist/'],
    transform: {
      '^.+\\.(t|j)sx?$': [
        '@swc/jest',
        { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } },
      ],
    },
    moduleNameMapper: {
      '^@allmrec/([a-z-]+)$': path.join(root, 'packages', '$1', 'src', 'index.ts'),
      // Subpath exports: @allmrec/<pkg>/<sub> is packages/<pkg>/src/<sub>/index.ts.
      '^@allmrec/([a-z-]+)/([a-z-]+)$': path.join(root, 'packages', '$1', 'src', '$2', 'index.ts'),
    },
    moduleFileExtensions: ['ts', 'js', 'json', 'mjs', 'cjs'],
  };
};
