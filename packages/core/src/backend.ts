import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { registerExtraKernels } from './kernels';

/** The tfjs backends allmrec can run on, fastest first. */
export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

/** What {@link selectBackend} chose and why the faster ones were skipped. */
export interface BackendInfo {
  /** The tfjs backend now active ("tensorflow" is tfjs-node, native TensorFlow). */
  name: string;
  /** The npm package that provides it. */
  package: string;
  /** Faster backends that could not be loaded, with the reason. */
  skipped: { package: string; reason: string }[];
}

interface Candidate {
  name: BackendName;
  tfName: string;
  pkg: string;
  load: () => Promise<void>;
}

const CANDIDATES: Candidate[] = [
  {
    name: 'tensorflow-gpu', tfName: 'tensorflow', pkg: '@tensorflow/tfjs-node-gpu',
    load: () => optionalImport('@tensorflow/tfjs-node-gpu'),
  },
  {
    name: 'tensorflow', tfName: 'tensorflow', pkg: '@tensorflow/tfjs-node',
    load: () => optionalImport('@tensorflow/tfjs-node'),
  },
  {
    name: 'wasm', tfName: 'wasm', pkg: '@tensorflow/tfjs-backend-wasm',
    load: async () => { await import('@tensorflow/tfjs-backend-wasm'); },
  },
  {
    name: 'cpu', tfName: 'cpu', pkg: '@tensorflow/tfjs-backend-cpu',
    load: async () => { await import('@tensorflow/tfjs-backend-cpu'); },
  },
];

async function optionalImport(pkg: string): Promise<void> {
  // tfjs-node's install downloads libtensorflow; where that failed (no internet) the package can
  // still be on disk without its native binding, and importing it half-registers kernels. Check
  // for the binding first.
  let root: string;
  try {
    root = path.dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    throw new Error('not installed (optional dependency)');
  }
  const lib = path.join(root, 'lib');
  const hasBinding = fs.existsSync(lib) && fs.readdirSync(lib).some(
    (d) => d.startsWith('napi-v') && fs.existsSync(path.join(lib, d, 'tfjs_binding.node')),
  );
  if (!hasBinding) throw new Error('installed without its native binding (its install step could not download libtensorflow)');
  // A variable specifier keeps bundlers from resolving the optional native packages.
  await import(/* webpackIgnore: true */ pkg);
}

let current: BackendInfo | undefined;

/**
 * Selects the fastest tfjs backend that loads on this machine, in the order tfjs-node-gpu,
 * tfjs-node (both optional dependencies that only install where their native library can be
 * downloaded), WASM, then the pure-JS CPU backend. `ALLMREC_BACKEND` (or `prefer`) forces one.
 * Also registers allmrec's extra kernels (e.g. UnsortedSegmentSum on WASM, which `tf.gather`'s
 * gradient needs). Safe to call repeatedly; returns what is active.
 */
export async function selectBackend(prefer?: BackendName | string): Promise<BackendInfo> {
  const wanted = prefer ?? process.env.ALLMREC_BACKEND;
  if (current && (!wanted || wanted === current.name || aliasOf(wanted) === current.name)) return current;
  const order = wanted ? CANDIDATES.filter((c) => c.name === wanted || c.tfName === wanted) : CANDIDATES;
  if (wanted && order.length === 0) {
    throw new Error(`unknown backend "${wanted}"; choose one of ${CANDIDATES.map((c) => c.name).join(', ')}`);
  }
  // tfjs-core's CommonJS entry point registers no gradients; the umbrella package does (into the
  // registry all tfjs copies share), and it brings the converter the text encoders need.
  await import('@tensorflow/tfjs');
  const skipped: BackendInfo['skipped'] = [];
  for (const c of order) {
    try {
      await c.load();
      const ok = await tf.setBackend(c.tfName);
      if (!ok) throw new Error(`tf.setBackend('${c.tfName}') returned false`);
      await tf.ready();
      registerExtraKernels(c.tfName);
      current = { name: tf.getBackend(), package: c.pkg, skipped };
      return current;
    } catch (err) {
      skipped.push({ package: c.pkg, reason: firstLine(err) });
    }
  }
  throw new Error(
    `no tfjs backend could be loaded:\n${skipped.map((s) => `  ${s.package}: ${s.reason}`).join('\n')}`,
  );
}

function aliasOf(name: string): string | undefined {
  return CANDIDATES.find((c) => c.name === name)?.tfName;
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0];
}

/** The backend chosen by the last {@link selectBackend} call, if any. */
export function currentBackend(): BackendInfo | undefined {
  return current;
}
