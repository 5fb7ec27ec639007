import * as tf from '@tensorflow/tfjs-core';
import { KERNELS_WASM_BASE64 } from './kernels-wasm';

/**
 * allmrec's own kernels for the tfjs WASM backend (packages/core/wasm/kernels.c):
 *
 *   AllmrecCausalAttention      inputs q, k, v [n, L, dh], optional dropout mask [n, L, L];
 *                               attr scale → outputs P (softmax weights) [n, L, L], O [n, L, dh]
 *   AllmrecCausalAttentionGrad  inputs q, k, v, P, dO, optional mask → dq, dk, dv
 *
 *   AllmrecLayerNorm            inputs x [rows, d], g, b [d]; attr eps → y, xhat [rows, d], rstd [rows]
 *   AllmrecLayerNormGrad        inputs dy, xhat, rstd, g → dx, dg, db
 *   AllmrecDropoutMask          attrs shape, rate, seed (4 x uint32) → inverted-dropout mask
 *   Transpose (2-D, float32)    replaces tfjs's kernel for that case (~5x faster)
 *   Sum (axis 0 of 2-D float32) replaces tfjs's kernel for that case (~10x faster)
 *
 * The module shares tfjs's WebAssembly.Memory, so kernels read and write tensors in place.
 */
export const ATTENTION_KERNEL = 'AllmrecCausalAttention';
export const ATTENTION_GRAD_KERNEL = 'AllmrecCausalAttentionGrad';
export const LAYERNORM_KERNEL = 'AllmrecLayerNorm';
export const LAYERNORM_GRAD_KERNEL = 'AllmrecLayerNormGrad';
export const DROPOUT_MASK_KERNEL = 'AllmrecDropoutMask';

interface KernelExports {
  attn_fwd(n: number, L: number, dh: number, scale: number, q: number, k: number, v: number, mask: number,
    P: number, O: number): void;
  attn_bwd(n: number, L: number, dh: number, scale: number, q: number, k: number, v: number, mask: number,
    P: number, dO: number, dq: number, dk: number, dv: number, scratch: number): void;
  transpose2d(rows: number, cols: number, src: number, dst: number): void;
  colsum(rows: number, cols: number, src: number, dst: number): void;
  layernorm_fwd(rows: number, d: number, eps: number, x: number, g: number, b: number, y: number, xhat: number,
    rstd: number): void;
  layernorm_bwd(rows: number, d: number, dy: number, xhat: number, rstd: number, g: number, dx: number, dg: number,
    db: number): void;
  dropout_mask(n: number, threshold: number, keep: number, s0: number, s1: number, s2: number, s3: number,
    out: number): void;
  __stack_pointer: WebAssembly.Global;
}

let instance: { exports: KernelExports; memory: WebAssembly.Memory; scratch: number; scratchLen: number } | undefined;

function kernelsFor(backend: any): NonNullable<typeof instance> {
  const memory: WebAssembly.Memory | undefined = backend.wasm?.asm?.memory ?? backend.wasm?.wasmMemory;
  if (!(memory instanceof WebAssembly.Memory)) {
    throw new Error('allmrec attention kernels: cannot reach the tfjs WASM memory');
  }
  if (instance && instance.memory === memory) return instance;
  const bytes = Buffer.from(KERNELS_WASM_BASE64, 'base64');
  const mod = new WebAssembly.Module(bytes);
  const inst = new WebAssembly.Instance(mod, { env: { memory } });
  const exports = inst.exports as unknown as KernelExports;
  // Give the module a private stack inside tfjs's heap (it uses none today; this keeps a future
  // build that spills from writing over tensors).
  const stackBytes = 64 * 1024;
  const stackBase = backend.wasm._malloc(stackBytes);
  exports.__stack_pointer.value = stackBase + stackBytes;
  instance = { exports, memory, scratch: 0, scratchLen: 0 };
  return instance;
}

function offsetOf(backend: any, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset as number;
}

function check3(name: string, t: tf.TensorInfo, shape: number[]): void {
  if (t.dtype !== 'float32' || t.shape.length !== 3 || t.shape.some((s, i) => s !== shape[i])) {
    throw new Error(`${name} must be float32 [${shape}], got ${t.dtype} [${t.shape}]`);
  }
}

function forwardKernel({ inputs, backend, attrs }: any): tf.TensorInfo[] {
  const { q, k, v, mask } = inputs as Record<string, tf.TensorInfo>;
  const [n, L, dh] = q.shape;
  check3('k', k, [n, L, dh]);
  check3('v', v, [n, L, dh]);
  if (mask) check3('mask', mask, [n, L, L]);
  const kx = kernelsFor(backend);
  const P = backend.makeOutput([n, L, L], 'float32');
  const O = backend.makeOutput([n, L, dh], 'float32');
  kx.exports.attn_fwd(n, L, dh, attrs.scale as number, offsetOf(backend, q), offsetOf(backend, k),
    offsetOf(backend, v), mask ? offsetOf(backend, mask) : 0, offsetOf(backend, P), offsetOf(backend, O));
  return [P, O];
}

function backwardKernel({ inputs, backend, attrs }: any): tf.TensorInfo[] {
  const { q, k, v, P, dO, mask } = inputs as Record<string, tf.TensorInfo>;
  const [n, L, dh] = q.shape;
  check3('k', k, [n, L, dh]);
  check3('v', v, [n, L, dh]);
  check3('dO', dO, [n, L, dh]);
  check3('P', P, [n, L, L]);
  if (mask) check3('mask', mask, [n, L, L]);
  const kx = kernelsFor(backend);
  if (kx.scratchLen < L) {
    if (kx.scratch) backend.wasm._free(kx.scratch);
    kx.scratch = backend.wasm._malloc(4 * L);
    kx.scratchLen = L;
  }
  const dq = backend.makeOutput([n, L, dh], 'float32');
  const dk = backend.makeOutput([n, L, dh], 'float32');
  const dv = backend.makeOutput([n, L, dh], 'float32');
  kx.exports.attn_bwd(n, L, dh, attrs.scale as number, offsetOf(backend, q), offsetOf(backend, k),
    offsetOf(backend, v), mask ? offsetOf(backend, mask) : 0, offsetOf(backend, P), offsetOf(backend, dO),
    offsetOf(backend, dq), offsetOf(backend, dk), offsetOf(backend, dv), kx.scratch);
  return [dq, dk, dv];
}

function layerNormKernel({ inputs, backend, attrs }: any): tf.TensorInfo[] {
  const { x, g, b } = inputs as Record<string, tf.TensorInfo>;
  if (x.dtype !== 'float32' || x.shape.length !== 2) throw new Error(`layerNorm: x must be float32 [rows, d], got [${x.shape}]`);
  const [rows, d] = x.shape;
  if (g.shape.length !== 1 || g.shape[0] !== d || b.shape.length !== 1 || b.shape[0] !== d) {
    throw new Error(`layerNorm: gain and bias must be [${d}], got [${g.shape}] and [${b.shape}]`);
  }
  const kx = kernelsFor(backend);
  const y = backend.makeOutput([rows, d], 'float32');
  const xhat = backend.makeOutput([rows, d], 'float32');
  const rstd = backend.makeOutput([rows, 1], 'float32');
  kx.exports.layernorm_fwd(rows, d, attrs.eps as number, offsetOf(backend, x), offsetOf(backend, g),
    offsetOf(backend, b), offsetOf(backend, y), offsetOf(backend, xhat), offsetOf(backend, rstd));
  return [y, xhat, rstd];
}

function layerNormGradKernel({ inputs, backend }: any): tf.TensorInfo[] {
  const { dy, xhat, rstd, g } = inputs as Record<string, tf.TensorInfo>;
  const [rows, d] = dy.shape;
  const kx = kernelsFor(backend);
  const dx = backend.makeOutput([rows, d], 'float32');
  const dg = backend.makeOutput([d], 'float32');
  const db = backend.makeOutput([d], 'float32');
  kx.exports.layernorm_bwd(rows, d, offsetOf(backend, dy), offsetOf(backend, xhat), offsetOf(backend, rstd),
    offsetOf(backend, g), offsetOf(backend, dx), offsetOf(backend, dg), offsetOf(backend, db));
  return [dx, dg, db];
}

function dropoutMaskKernel({ backend, attrs }: any): tf.TensorInfo {
  const shape = attrs.shape as number[];
  const rate = attrs.rate as number;
  const seed = attrs.seed as number[];
  const out = backend.makeOutput(shape, 'float32');
  const n = tf.util.sizeFromShape(shape);
  if (n === 0) return out;
  const kx = kernelsFor(backend);
  const s = seed.map((x) => x >>> 0);
  if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
  kx.exports.dropout_mask(n, Math.round(rate * 65536), 1 / (1 - rate), s[0], s[1], s[2], s[3], offsetOf(backend, out));
  return out;
}

/** Wraps a built-in kernel: `fast` handles the cases it returns a result for, the rest fall back. */
function overrideKernel(name: string, fast: (args: any, kx: NonNullable<typeof instance>) => tf.TensorInfo | undefined): void {
  const original = tf.getKernel(name, 'wasm');
  if (!original || (original as { __allmrec?: boolean }).__allmrec) return;
  const fallback = original.kernelFunc;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({
    ...original,
    kernelFunc: (args: any) => fast(args, kernelsFor(args.backend)) ?? fallback(args),
    __allmrec: true,
  } as tf.KernelConfig);
}

function transpose2dFast({ inputs, backend, attrs }: any, kx: NonNullable<typeof instance>): tf.TensorInfo | undefined {
  const x = inputs.x as tf.TensorInfo;
  const perm = attrs.perm as number[];
  if (x.dtype !== 'float32' || x.shape.length !== 2 || perm[0] !== 1 || perm[1] !== 0) return undefined;
  const [rows, cols] = x.shape;
  const out = backend.makeOutput([cols, rows], 'float32');
  if (rows * cols > 0) kx.exports.transpose2d(rows, cols, offsetOf(backend, x), offsetOf(backend, out));
  return out;
}

function colSumFast({ inputs, backend, attrs }: any, kx: NonNullable<typeof instance>): tf.TensorInfo | undefined {
  const x = inputs.x as tf.TensorInfo;
  if (x.dtype !== 'float32' || x.shape.length !== 2) return undefined;
  const axes = tf.util.parseAxisParam(attrs.axis, x.shape);
  if (axes.length !== 1 || axes[0] !== 0) return undefined;
  const [rows, cols] = x.shape;
  const out = backend.makeOutput(attrs.keepDims ? [1, cols] : [cols], 'float32');
  kx.exports.colsum(rows, cols, offsetOf(backend, x), offsetOf(backend, out));
  return out;
}

/** Registers allmrec's WASM kernels (idempotent). */
export function registerWasmKernels(): void {
  const own: [string, tf.KernelFunc][] = [
    [ATTENTION_KERNEL, forwardKernel as tf.KernelFunc],
    [ATTENTION_GRAD_KERNEL, backwardKernel as tf.KernelFunc],
    [LAYERNORM_KERNEL, layerNormKernel as tf.KernelFunc],
    [LAYERNORM_GRAD_KERNEL, layerNormGradKernel as tf.KernelFunc],
    [DROPOUT_MASK_KERNEL, dropoutMaskKernel as tf.KernelFunc],
  ];
  for (const [kernelName, kernelFunc] of own) {
    if (!tf.getKernel(kernelName, 'wasm')) tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  }
  overrideKernel('Transpose', transpose2dFast);
  overrideKernel('Sum', colSumFast);
}

/** True when the active backend has the fused attention kernels. */
export function hasFusedAttention(): boolean {
  return !!tf.getKernel(ATTENTION_KERNEL, tf.getBackend());
}

/**
 * Causal attention through the fused kernel. q, k, v: [n, L, dh]; mask: inverted-dropout mask on
 * the weights [n, L, L] or undefined. Returns the softmax weights P and the output O.
 */
export function fusedCausalAttention(
  q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, scale: number, mask?: tf.Tensor3D,
): { P: tf.Tensor3D; O: tf.Tensor3D } {
  const inputs: tf.NamedTensorMap = { q, k, v };
  if (mask) inputs.mask = mask;
  const [P, O] = tf.engine().runKernel(ATTENTION_KERNEL, inputs, { scale }) as tf.Tensor3D[];
  return { P, O };
}

/** Gradients of {@link fusedCausalAttention} with respect to q, k, v given dO. */
export function fusedCausalAttentionGrad(
  q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, P: tf.Tensor3D, dO: tf.Tensor3D, scale: number, mask?: tf.Tensor3D,
): { dq: tf.Tensor3D; dk: tf.Tensor3D; dv: tf.Tensor3D } {
  const inputs: tf.NamedTensorMap = { q, k, v, P, dO };
  if (mask) inputs.mask = mask;
  const [dq, dk, dv] = tf.engine().runKernel(ATTENTION_GRAD_KERNEL, inputs, { scale }) as tf.Tensor3D[];
  return { dq, dk, dv };
}
