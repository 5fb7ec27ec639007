import type { BackboneFactory, BackboneLoader, CFBackbone } from './backbone';

interface Entry {
  create: BackboneFactory;
  load: BackboneLoader;
  description: string;
}

const registry = new Map<string, Entry>();

/**
 * Registers a backbone by name, so the CLI and benchmarks can create and load it. Third-party
 * backbones register the same way as the built-in ones.
 */
export function registerBackbone(
  name: string,
  entry: { create: BackboneFactory; load: BackboneLoader; description?: string },
): void {
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(name)) {
    throw new Error(`backbone name "${name}" must be lower-case letters, digits, "-" or "_"`);
  }
  registry.set(name, { create: entry.create, load: entry.load, description: entry.description ?? '' });
}

/** Names of all registered backbones. */
export function listBackbones(): { name: string; description: string }[] {
  return [...registry.entries()].map(([name, e]) => ({ name, description: e.description }));
}

function entryOf(name: string): Entry {
  const e = registry.get(name);
  if (!e) {
    throw new Error(`unknown backbone "${name}"; registered: ${[...registry.keys()].join(', ') || '(none)'}`);
  }
  return e;
}

/** Creates an untrained backbone registered under `name`. */
export function createBackbone(name: string, numItems: number, config?: Record<string, unknown>): CFBackbone {
  return entryOf(name).create(numItems, config);
}

/** Loads a saved backbone; `name` must match the artifact's kind. */
export function loadBackbone(name: string, dir: string): Promise<CFBackbone> {
  return entryOf(name).load(dir);
}
