#!/usr/bin/env node
// Compiles native/ (trailwarden's scanner and the vendored libdeflate) into build/trailwarden.node with
// the system's C compiler ($CC, else cc). Without a compiler the build still succeeds: scans then use
// Node's zlib and JavaScript searches, which find the same records more slowly (src/scan/native-scanner.ts).
// TRAILWARDEN_NATIVE_REQUIRED=1 (CI) turns a failed compile into a failed build.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, mkdirSync, readdirSync, statSync, renameSync } = require('node:fs');
const { dirname, join } = require('node:path');

const ROOT = join(__dirname, '..');
const NATIVE = join(ROOT, 'native');
const LIBDEFLATE = join(NATIVE, 'libdeflate');
const OUTPUT = join(ROOT, 'build', 'trailwarden.node');
const SOURCES = [
  join(NATIVE, 'trailwarden.c'),
  ...['deflate_decompress.c', 'gzip_decompress.c', 'utils.c', 'crc32.c', 'x86/cpu_features.c', 'arm/cpu_features.c'].map((file) =>
    join(LIBDEFLATE, 'lib', file),
  ),
];

function nodeApiIncludeDir() {
  try {
    return require('node-api-headers').include_dir;
  } catch {
    const bundled = join(dirname(process.execPath), '..', 'include', 'node');
    return existsSync(join(bundled, 'node_api.h')) ? bundled : undefined;
  }
}

function newestSource(dir = NATIVE) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function fail(reason) {
  const message = `native scanner not built (${reason}): scans use Node's zlib and JavaScript searches`;
  if (process.env.TRAILWARDEN_NATIVE_REQUIRED === '1') {
    console.error(message);
    process.exit(1);
  }
  console.warn(message);
}

function build() {
  if (process.platform === 'win32') return fail('Windows builds are not set up');
  if (existsSync(OUTPUT) && statSync(OUTPUT).mtimeMs >= Math.max(newestSource(), statSync(join(__dirname, 'build-native.js')).mtimeMs)) return;
  const include = nodeApiIncludeDir();
  if (!include) return fail('no Node-API headers: install node-api-headers');
  mkdirSync(dirname(OUTPUT), { recursive: true });
  const partial = `${OUTPUT}.${process.pid}.tmp`;
  const compiler = process.env.CC || 'cc';
  const args = [
    '-O2',
    '-std=gnu11',
    '-fPIC',
    '-shared',
    '-fvisibility=hidden',
    '-DNAPI_VERSION=8',
    `-I${include}`,
    `-I${LIBDEFLATE}`,
    ...(process.platform === 'darwin' ? ['-undefined', 'dynamic_lookup'] : []),
    ...SOURCES,
    '-o',
    partial,
  ];
  const run = spawnSync(compiler, args, { encoding: 'utf8' });
  if (run.error) return fail(`${compiler}: ${run.error.code === 'ENOENT' ? 'no C compiler' : run.error.message}`);
  if (run.status !== 0) return fail(`${compiler} exited ${run.status}: ${run.stderr.trim().split('\n').slice(0, 5).join(' | ')}`);
  renameSync(partial, OUTPUT);
}

build();
