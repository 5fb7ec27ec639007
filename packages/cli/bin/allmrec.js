#!/usr/bin/env node
'use strict';
require('../dist/index.js').main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code ?? 0; },
  (err) => { process.stderr.write(`allmrec: ${err && err.message ? err.message : err}\n`); process.exitCode = 1; },
);
