#!/usr/bin/env node
// Prints a codec key file with one new AES-256 key:  node scripts/make-codec-key.js [id] > codec-keys.json
// To rotate: add a new key to the file's "keys", make it "active", keep the old ones for reading.
'use strict';
const { randomBytes } = require('node:crypto');
const id = process.argv[2] ?? `key-${new Date().toISOString().slice(0, 10)}`;
process.stdout.write(`${JSON.stringify({ active: id, keys: { [id]: randomBytes(32).toString('base64') } }, null, 2)}\n`);
