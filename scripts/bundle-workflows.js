#!/usr/bin/env node
// Bundles the compiled workflow code once at build time, so workers start without webpack.
'use strict';
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { bundleWorkflowCode } = require('@temporalio/worker');

(async () => {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve(join(__dirname, '..', 'dist', 'workflows')),
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
  });
  writeFileSync(join(__dirname, '..', 'dist', 'workflow-bundle.js'), code);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
