import * as tf from '@tensorflow/tfjs-core';
import { registerWasmKernels } from './wasm-kernels';

/**
 * Kernels tfjs 4.22 lacks or runs badly on some backends, registered by {@link selectBackend}.
 *
 * UnsortedSegmentSum is the gradient of `tf.gather` (an embedding lookup). The WASM backend has no
 * kernel for it, so embeddings cannot train there; the CPU backend's is quadratic (it builds a
 * one-hot mask per segment). This kernel reads the inputs and writes the output buffer directly:
 * one pass over the rows.
 */
export function registerExtraKernels(backendName: string): void {
  if (backendName === 'wasm') {
    registerFastGather();
    registerWasmKernels();
  }
  if (backendName !== 'wasm' && backendName !== 'cpu') return;
  const existing = tf.getKernel('UnsortedSegmentSum', backendName);
  if (existing && (existing as { __allmrec?: boolean }).__allmrec) return;
  if (existing) tf.unregisterKernel('UnsortedSegmentSum', backendName);
  const config: tf.KernelConfig & { __allmrec: boolean } = {
    kernelName: 'UnsortedSegmentSum',
    backendName,
    kernelFunc: backendName === 'wasm' ? segmentSumWasm : segmentSumCpu,
    __allmrec: true,
  };
  tf.registerKernel(config);
}

interface SegmentArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: any;
  attrs?: tf.NamedAttrMap;
}

function segmentSumInto(
  x: ArrayLike<number>, ids: ArrayLike<number>, out: Float32Array | Int32Array, rowSize: number, numSegments: number,
): void {
  out.fill(0);
  for (let r = 0; r < ids.length; r++) {
    const s = ids[r];
    if (s < 0 || s >= numSegments) continue; // TF semantics: out-of-range ids are dropped
    const src = r * rowSize;
    const dst = s * rowSize;
    for (let c = 0; c < rowSize; c++) out[dst + c] += x[src + c];
  }
}

function checkShapes(x: tf.TensorInfo, ids: tf.TensorInfo): number {
  const n = tf.util.sizeFromShape(ids.shape);
  for (let i = 0; i < ids.shape.length; i++) {
    if (x.shape[i] !== ids.shape[i]) {
      throw new Error(`UnsortedSegmentSum: segmentIds shape [${ids.shape}] must prefix x shape [${x.shape}]`);
    }
  }
  return n;
}

function segmentSumWasm({ inputs, backend, attrs }: SegmentArgs): tf.TensorInfo {
  const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const numSegments = attrs!.numSegments as number;
  const rows = checkShapes(x, segmentIds);
  const rowShape = x.shape.slice(segmentIds.shape.length);
  const rowSize = tf.util.sizeFromShape(rowShape);
  const out = backend.makeOutput([numSegments, ...rowShape], x.dtype);
  const xv = backend.typedArrayFromHeap(x);
  const idv = backend.typedArrayFromHeap(segmentIds);
  const ov = backend.typedArrayFromHeap(out);
  segmentSumInto(xv.subarray(0, rows * rowSize), idv, ov, rowSize, numSegments);
  return out;
}

function segmentSumCpu({ inputs, backend, attrs }: SegmentArgs): tf.TensorInfo {
  const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const numSegments = attrs!.numSegments as number;
  checkShapes(x, segmentIds);
  const rowShape = x.shape.slice(segmentIds.shape.length);
  const rowSize = tf.util.sizeFromShape(rowShape);
  const xv = backend.data.get(x.dataId).values as Float32Array;
  const idv = backend.data.get(segmentIds.dataId).values as Int32Array;
  const out = x.dtype === 'int32'
    ? new Int32Array(numSegments * rowSize)
    : new Float32Array(numSegments * rowSize);
  segmentSumInto(xv, idv, out, rowSize, numSegments);
  return backend.makeTensorInfo([numSegments, ...rowShape], x.dtype, out);
}

/**
 * GatherV2 on WASM for the common embedding-lookup case (axis 0, no batch dims, float32): the
 * built-in kernel takes ~8 ms for 6,400 rows of a [1683, 50] table; copying rows straight
 * between heap views takes a fraction of that. Other cases go to the original kernel.
 */
function registerFastGather(): void {
  const original = tf.getKernel('GatherV2', 'wasm');
  if (!original || (original as { __allmrec?: boolean }).__allmrec) return;
  const fallback = original.kernelFunc;
  tf.unregisterKernel('GatherV2', 'wasm');
  const config: tf.KernelConfig & { __allmrec: boolean } = {
    ...original,
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args as unknown as SegmentArgs;
      const { x, indices } = inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
      const axis = attrs!.axis as number;
      const batchDims = (attrs!.batchDims as number) ?? 0;
      if (axis !== 0 || batchDims !== 0 || x.dtype !== 'float32' || x.shape.length < 1) {
        return fallback(args);
      }
      const rows = x.shape[0];
      const rowShape = x.shape.slice(1);
      const rowSize = tf.util.sizeFromShape(rowShape);
      const out = backend.makeOutput([...indices.shape, ...rowShape], 'float32');
      const n = tf.util.sizeFromShape(indices.shape);
      if (n === 0 || rowSize === 0) return out;
      const xv = backend.typedArrayFromHeap(x) as Float32Array;
      const iv = backend.typedArrayFromHeap(indices) as Int32Array;
      const ov = backend.typedArrayFromHeap(out) as Float32Array;
      for (let r = 0; r < n; r++) {
        const idx = iv[r];
        if (!(idx >= 0 && idx < rows)) {
          backend.disposeData(out.dataId);
          throw new Error(`GatherV2: the index value ${idx} is not in [0, ${rows - 1}]`);
        }
        ov.set(xv.subarray(idx * rowSize, idx * rowSize + rowSize), r * rowSize);
      }
      return out;
    },
    __allmrec: true,
  };
  tf.registerKernel(config);
}
