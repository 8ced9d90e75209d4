/**
 * External Storage with `--embedded`: large payloads go to the local payload folder
 * (.trailwarden/payloads), after the codec encrypted them when codec keys are set.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Finding } from '../../src/rules/types';
import { jsonLines, runCli, tempDir, writeConfig, writeFiles } from '../helpers/cli';
import { largeTrail } from '../helpers/large-trail';

const DATE = '2026-09-20';

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile());
}

async function embeddedScan(name: string, env: NodeJS.ProcessEnv) {
  const dir = tempDir(name);
  writeFiles(join(dir, 'logs'), largeTrail(DATE));
  const config = writeConfig(dir, { sources: [{ type: 'directory', path: './logs' }], findings: { directory: './findings' }, incidents: { enabled: false } });
  const result = await runCli(['scan', '--embedded', '--json', '--config', config, '--date', DATE], { cwd: dir, env });
  expect(result.code).toBe(0);
  const blobs = filesUnder(join(dir, '.trailwarden', 'payloads'));
  return { findings: jsonLines<Finding>(result.stdout), blobs, dir };
}

describe('payloads above 256 KiB go to the local payload folder with --embedded', () => {
  const sorted = (findings: Finding[]) => JSON.stringify([...findings].sort((a, b) => a.id.localeCompare(b.id)));

  test('without codec keys the offloaded blobs are the plain payloads; with them, ciphertext only; the findings are the same', async () => {
    const plain = await embeddedScan('extstore-plain', { TRAILWARDEN_CODEC_KEYS: '' });
    expect(plain.findings.length).toBeGreaterThanOrEqual(4);
    expect(plain.blobs.length).toBeGreaterThan(0);
    expect(Math.max(...plain.blobs.map((file) => statSync(file).size))).toBeGreaterThan(256 * 1024);
    // content-addressed: <sha256[0..2]>/<sha256>
    for (const file of plain.blobs) expect(file).toMatch(/\/([0-9a-f]{2})\/\1[0-9a-f]{62}$/);
    expect(plain.blobs.some((file) => readFileSync(file).includes('mh-alice-0001'))).toBe(true);

    const key = randomBytes(32).toString('base64');
    const encrypted = await embeddedScan('extstore-codec', { TRAILWARDEN_CODEC_KEYS: `k1:${key}` });
    expect(sorted(encrypted.findings)).toBe(sorted(plain.findings));
    expect(encrypted.blobs.length).toBeGreaterThan(0);
    for (const file of encrypted.blobs) {
      const bytes = readFileSync(file);
      for (const plaintext of ['mh-alice-0001', 'SendCommand', 'alice', '111122223333', 'json/plain']) {
        expect({ file, plaintext, found: bytes.includes(plaintext) }).toEqual({ file, plaintext, found: false });
      }
      // the blob is a Payload whose metadata says it is encrypted, with the key id
      expect(bytes.includes('binary/encrypted')).toBe(true);
    }
  }, 240_000);
});
