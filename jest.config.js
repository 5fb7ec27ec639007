// `npm test` at the root runs every package's tests in one jest run (one summary for CI).
const preset = require('./tools/jest/preset');
module.exports = {
  ...preset(__dirname),
  testMatch: ['<rootDir>/packages/*/src/**/*.test.ts'],
  testTimeout: 120000,
};
