module.exports = { ...require('../../tools/jest/preset')(__dirname), testTimeout: 120000 };
