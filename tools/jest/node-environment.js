// A jest environment that shares the main realm's typed arrays and ArrayBuffer with the test
// context. tfjs and onnxruntime-node check `instanceof Float32Array` against the realm they were
// loaded in; jest's default per-file vm context has its own constructors, which breaks those checks.
const { TestEnvironment } = require('jest-environment-node');

const SHARED = [
  'ArrayBuffer', 'SharedArrayBuffer', 'DataView',
  'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
  'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
  'WebAssembly', 'TextEncoder', 'TextDecoder', 'Buffer',
];

class SharedRealmEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) {
      if (globalThis[name] !== undefined) this.global[name] = globalThis[name];
    }
  }
}

module.exports = SharedRealmEnvironment;
