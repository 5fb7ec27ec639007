import { defineConfig, type Options } from 'tsup';

/** Options of {@link packageBuild}: tsup's, plus the package's subpath exports. */
export interface PackageBuildOptions extends Options {
  /**
   * Subpath exports besides the root, by name: 'demo' builds src/demo/index.ts to dist/demo/index.*
   * for the package.json entry `exports["./demo"]` (default none: src/index.ts alone).
   */
  subpaths?: string[];
}

/**
 * The build every @allmrec package shares: src/index.ts (and src/<subpath>/index.ts for each of
 * `subpaths`) to ESM + CJS + .d.ts for Node 20.
 * `shims` adds import.meta.url / __dirname shims for packages that locate files next to their code.
 */
export function packageBuild({ subpaths = [], ...overrides }: PackageBuildOptions = {}) {
  return defineConfig({
    entry: subpaths.length === 0
      ? ['src/index.ts']
      : { index: 'src/index.ts', ...Object.fromEntries(subpaths.map((s) => [`${s}/index`, `src/${s}/index.ts`])) },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    ...overrides,
  });
}
