// `npm test` at the root runs every package's tests in one jest run (one summary for CI).
const os = require('os');
const path = require('path');
const preset = require('./tools/jest/preset');

// Caches the tests fill (ONNX exports, text embeddings) stay out of the user's ~/.cache/allmrec.
process.env.ALLMREC_HOME = process.env.ALLMREC_HOME || path.join(os.tmpdir(), 'allmrec-test-home');
module.exports = {
  ...preset(__dirname),
  testMatch: ['<rootDir>/packages/*/src/**/*.test.ts', '<rootDir>/examples/**/*.test.ts'],
  testTimeout: 120000,
};
