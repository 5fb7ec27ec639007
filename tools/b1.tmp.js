const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-wasm');
const wasm = require('@tensorflow/tfjs-backend-wasm');
(async () => {
  if (process.env.THREADS) wasm.setThreadsCount(+process.env.THREADS);
  await tf.setBackend('wasm'); await tf.ready();
  console.log(tf.getBackend(), 'simd', await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'), 'mt', await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'), 'threads', wasm.getThreadsCount && wasm.getThreadsCount());
  const a = tf.randomNormal([6400, 50]), b = tf.randomNormal([50, 50]);
  for (const [name, fn] of [['mm 6400x50x50', () => tf.matMul(a, b)], ['add', () => tf.add(a, a)], ['tiny add', () => tf.add(b, b)]]) {
    for (let i = 0; i < 5; i++) fn().dispose();
    const t = performance.now(); const n = 200; for (let i = 0; i < n; i++) fn().dispose();
    console.log(name, ((performance.now() - t) / n * 1000).toFixed(1), 'us');
  }
  const x = tf.randomNormal([1024,1024]); const t=performance.now(); for(let i=0;i<5;i++) tf.matMul(x,x).dispose(); console.log('1024 mm', (performance.now()-t)/5, 'ms');
  const q = tf.randomNormal([128, 50, 50]);
  for (let i = 0; i < 3; i++) tf.matMul(q, q, false, true).dispose();
  let t2 = performance.now(); for (let i = 0; i < 20; i++) tf.matMul(q, q, false, true).dispose(); console.log('bmm 128x50x50x50 T', (performance.now() - t2) / 20, 'ms');
  t2 = performance.now(); for (let i = 0; i < 20; i++) tf.matMul(q, q).dispose(); console.log('bmm 128x50x50x50', (performance.now() - t2) / 20, 'ms');
})();
