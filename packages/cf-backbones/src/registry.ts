import type { BackboneFactory, BackboneLoader, CFBackbone } from './backbone';

interface Entry {
  create: BackboneFactory;
  load: BackboneLoader;
  description: string;
  defaults?: Record<string, unknown>;
}

const registry = new Map<string, Entry>();

/**
 * Registers a backbone by name, so the CLI and benchmarks can create and load it. Third-party
 * backbones register the same way as the built-in ones.
 */
export function registerBackbone(
  name: string,
  entry: {
    create: BackboneFactory;
    load: BackboneLoader;
    description?: string;
    /** The model's default config; when given, `createBackbone` refuses config keys not in it. */
    defaults?: Record<string, unknown>;
  },
): void {
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(name)) {
    throw new Error(`backbone name "${name}" must be lower-case letters, digits, "-" or "_"`);
  }
  registry.set(name, { create: entry.create, load: entry.load, description: entry.description ?? '', ...(entry.defaults ? { defaults: entry.defaults } : {}) });
}

/** All registered backbones: name, description and default config (when declared). */
export function listBackbones(): { name: string; description: string; defaults?: Record<string, unknown> }[] {
  return [...registry.entries()].map(([name, e]) => ({ name, description: e.description, ...(e.defaults ? { defaults: e.defaults } : {}) }));
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
  const e = entryOf(name);
  if (config && e.defaults) {
    const unknown = Object.keys(config).filter((k) => !(k in e.defaults!));
    if (unknown.length) throw new Error(`backbone "${name}" has no config key ${unknown.map((k) => `"${k}"`).join(', ')} (known: ${Object.keys(e.defaults).join(', ')})`);
  }
  return e.create(numItems, config);
}

/** Loads a saved backbone; `name` must match the artifact's kind. */
export function loadBackbone(name: string, dir: string): Promise<CFBackbone> {
  return entryOf(name).load(dir);
}
