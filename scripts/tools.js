#!/usr/bin/env node
// Prints the absolute path of a tool the tests and the demo need, installing it into .tools/ when missing.
//   node scripts/tools.js temporal | moto | pysigma | all   (pysigma: the python that has pySigma, its DuckDB backend and DuckDB)
'use strict';
const { temporalCliPath, motoServerPath, sigmaPythonPath } = require('../dist/local/tools.js');

const wanted = process.argv[2] ?? 'all';
const found = {};
if (wanted === 'temporal' || wanted === 'all') found.temporal = temporalCliPath();
if (wanted === 'moto' || wanted === 'all') found.moto = motoServerPath();
if (wanted === 'pysigma' || wanted === 'all') found.pysigma = sigmaPythonPath();
for (const [name, path] of Object.entries(found)) {
  if (!path) {
    console.error(`could not find or install ${name}`);
    process.exit(1);
  }
  console.log(wanted === 'all' ? `${name}=${path}` : path);
}
