'use strict';
/**
 * Stage (a), the floor: read and gunzip every object, bytes only, on every core (worker_threads
 * pulling files from a shared counter). Child process: node floor.js '{"dir":…,"every":1,"threads":N}'
 */
const { readFileSync } = require('node:fs');
const { gunzipSync } = require('node:zlib');
const os = require('node:os');
const { join } = require('node:path');
const { Worker, isMainThread, workerData, parentPort } = require('node:worker_threads');
const { listTrailFiles, report } = require('./common');

if (!isMainThread) {
  const { paths, counter, sized } = workerData;
  // sized: one output buffer per file, sized by the gzip trailer (as the scan inflates); else Node's default chunks
  const options = (gz) => (sized ? { chunkSize: Math.max(64 * 1024, gz.readUInt32LE(gz.length - 4) + 1) } : {});
  const next = new Int32Array(counter);
  let bytes = 0;
  for (let i = Atomics.add(next, 0, 1); i < paths.length; i = Atomics.add(next, 0, 1)) {
    const gz = readFileSync(paths[i]);
    bytes += gunzipSync(gz, options(gz)).length;
  }
  parentPort.postMessage(bytes);
} else {
  const { dir, every = 1, sized = false, threads = os.availableParallelism() } = JSON.parse(process.argv[2]);
  const files = listTrailFiles(dir).filter((f, i) => i % every === 0);
  const paths = files.map((f) => f.path);
  const counter = new SharedArrayBuffer(4);
  const started = process.hrtime.bigint();
  Promise.all(
    Array.from(
      { length: threads },
      () =>
        new Promise((resolve, reject) => {
          const worker = new Worker(join(__dirname, 'floor.js'), { workerData: { paths, counter, sized } });
          worker.once('message', resolve);
          worker.once('error', reject);
        }),
    ),
  ).then((parts) => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    report({ seconds, objects: files.length, bytesGz: files.reduce((s, f) => s + f.size, 0), bytesRaw: parts.reduce((s, b) => s + b, 0), threads });
  });
}
