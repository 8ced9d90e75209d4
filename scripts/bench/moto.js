'use strict';
/** Stage (e)'s S3: moto's server on a free local port, holding a subset of the trail's objects. */
const { readFileSync } = require('node:fs');
const { join, relative } = require('node:path');
const { DIST, listTrailFiles } = require('./common');

const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench', AWS_REGION: 'us-east-1' };

/** moto's S3 server, started the way the product's demo and tests start it. */
async function startMoto() {
  const { startMotoServer } = require(join(DIST, 'local', 'moto.js'));
  return startMotoServer();
}

/** Uploads every `every`-th object (in key order, as floor.js selects them) under its trail key. */
async function uploadSubset(endpoint, bucket, dir, every) {
  const { S3Client, CreateBucketCommand, PutObjectCommand } = require('@aws-sdk/client-s3');
  const client = new S3Client({
    endpoint,
    forcePathStyle: true,
    region: CREDENTIALS.AWS_REGION,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const files = listTrailFiles(dir).filter((f, i) => i % every === 0);
  const queue = [...files];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let file = queue.shift(); file; file = queue.shift()) {
        const key = relative(dir, file.path).split('\\').join('/');
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: readFileSync(file.path) }));
      }
    }),
  );
  client.destroy();
  return files.length;
}

module.exports = { startMoto, uploadSubset, CREDENTIALS };
