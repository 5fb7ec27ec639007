/**
 * Training checkpoints: parameters, Adam moments and a JSON description of the run, written as
 * one artifact directory (atomically, so an interrupted write never replaces a good checkpoint).
 * Every trainer (backbones, Stage 1, Stage 2) resumes through these two functions.
 */
import { readArtifact, writeArtifact } from './artifact';
import type { AdamState } from './adam';

/** What a trainer saves: named parameter values, Adam's state and anything else as extra groups. */
export interface TrainingCheckpoint<Meta = Record<string, unknown>> {
  /** JSON description of the run (config, seed, epoch, history...); compared on resume. */
  meta: Meta;
  /** Parameter values by name. */
  params: Map<string, Float32Array>;
  /** Adam's moments and step counters. */
  adam: AdamState;
  /** Further named tensor groups (e.g. a weight average), each a map by parameter name. */
  groups?: Record<string, Map<string, Float32Array>>;
}

const RESERVED = new Set(['param', 'adam_m', 'adam_v']);

/**
 * Writes a checkpoint into `dir` as an artifact of `kind`. `shapes` gives each parameter's shape
 * (Adam moments and extra groups share the parameter's shape).
 * @throws Error when a value has no shape or the wrong size, or an extra group uses a reserved name.
 */
export async function writeTrainingCheckpoint(
  dir: string, kind: string, shapes: Record<string, number[]>, ckpt: TrainingCheckpoint<unknown>,
): Promise<void> {
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  const put = (group: string, values: Map<string, Float32Array>) => {
    for (const [name, data] of values) {
      const shape = shapes[name];
      if (!shape) throw new Error(`checkpoint ${kind}: no shape for ${group}/${name}`);
      const size = shape.reduce((a, b) => a * b, 1);
      if (data.length !== size) throw new Error(`checkpoint ${kind}: ${group}/${name} has ${data.length} values, shape [${shape}] needs ${size}`);
      tensors[`${group}/${name}`] = { shape, data };
    }
  };
  put('param', ckpt.params);
  put('adam_m', ckpt.adam.m);
  put('adam_v', ckpt.adam.v);
  for (const [group, values] of Object.entries(ckpt.groups ?? {})) {
    if (RESERVED.has(group) || group.includes('/')) throw new Error(`checkpoint ${kind}: extra group name "${group}" is reserved or contains "/"`);
    put(group, values);
  }
  await writeArtifact(dir, { kind, config: { meta: ckpt.meta, adamSteps: ckpt.adam.steps }, tensors });
}

/**
 * Reads a checkpoint written by {@link writeTrainingCheckpoint}.
 * @throws Error (from readArtifact) when `dir` is not an artifact of `kind` or fails its checksums.
 */
export async function readTrainingCheckpoint<Meta = Record<string, unknown>>(dir: string, kind: string): Promise<TrainingCheckpoint<Meta>> {
  const art = await readArtifact(dir, { expectKind: kind });
  const config = art.config as { meta?: Meta; adamSteps?: Record<string, number> };
  if (config.meta === undefined || typeof config.adamSteps !== 'object' || config.adamSteps === null) {
    throw new Error(`checkpoint in ${dir}: manifest config lacks "meta" or "adamSteps"; it was written by an older version, remove it to start afresh`);
  }
  const params = new Map<string, Float32Array>();
  const m = new Map<string, Float32Array>();
  const v = new Map<string, Float32Array>();
  const groups: Record<string, Map<string, Float32Array>> = {};
  for (const [full, t] of art.tensors) {
    const cut = full.indexOf('/');
    if (cut < 0) throw new Error(`checkpoint in ${dir}: tensor "${full}" has no group prefix`);
    const group = full.slice(0, cut);
    const name = full.slice(cut + 1);
    const data = t.data as Float32Array;
    if (group === 'param') params.set(name, data);
    else if (group === 'adam_m') m.set(name, data);
    else if (group === 'adam_v') v.set(name, data);
    else (groups[group] ??= new Map()).set(name, data);
  }
  return { meta: config.meta, params, adam: { steps: config.adamSteps, m, v }, groups };
}
