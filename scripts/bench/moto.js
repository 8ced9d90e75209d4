'use strict';
/** Stage (e)'s S3: moto's server on a free local port, holding a subset of the trail's objects. */
const { spawn } = require('node:child_process');
const { readFileSync } = require('node:fs');
const { join, relative } = require('node:path');
const { DIST, listTrailFiles } = require('./common');

const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench', AWS_REGION: 'us-east-1' };

async function startMoto() {
  const { motoServerPath } = require(join(DIST, 'local', 'tools.js'));
  const { freePort } = require(join(DIST, 'local', 'dev-server.js'));
  const bin = motoServerPath();
  if (!bin) throw new Error('moto_server is not available and could not be installed into .tools/');
  const port = await freePort();
  const child = spawn(bin, ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 60_000; ;) {
    try {
      await fetch(`${endpoint}/`);
      break;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`moto did not start at ${endpoint}: ${error}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return { endpoint, stop: () => child.kill('SIGTERM') };
}

/** Uploads every `every`-th object (in key order, as floor.js selects them) under its trail key. */
async function uploadSubset(endpoint, bucket, dir, every) {
  const { S3Client, CreateBucketCommand, PutObjectCommand } = require('@aws-sdk/client-s3');
  const client = new S3Client({ endpoint, forcePathStyle: true, region: CREDENTIALS.AWS_REGION, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const files = listTrailFiles(dir).filter((f, i) => i % every === 0);
  const queue = [...files];
  await Promise.all(Array.from({ length: 8 }, async () => {
    for (let file = queue.shift(); file; file = queue.shift()) {
      const key = relative(dir, file.path).split('\\').join('/');
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: readFileSync(file.path) }));
    }
  }));
  client.destroy();
  return files.length;
}

module.exports = { startMoto, uploadSubset, CREDENTIALS };
