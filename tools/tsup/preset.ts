import { defineConfig, type Options } from 'tsup';

/**
 * The build every @allmrec package shares: src/index.ts to ESM + CJS + .d.ts for Node 20.
 * `shims` adds import.meta.url / __dirname shims for packages that locate files next to their code.
 */
export function packageBuild(overrides: Options = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    ...overrides,
  });
}
