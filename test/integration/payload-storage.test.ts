/**
 * External Storage with `--embedded`: large payloads go to the local payload folder
 * (.trailwarden/payloads), after the codec encrypted them when codec keys are set.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
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

async function embeddedScan(name: string, env: NodeJS.ProcessEnv, inlineLines = '1000000000') {
  const dir = tempDir(name);
  writeFiles(join(dir, 'logs'), largeTrail(DATE));
  const config = writeConfig(dir, { sources: [{ type: 'directory', path: './logs' }], findings: { directory: './findings' }, incidents: { enabled: false } });
  // the lines stay in payloads (not the scan's blob store), so that External Storage carries them here
  const result = await runCli(['scan', '--embedded', '--json', '--config', config, '--date', DATE], {
    cwd: dir,
    env: { ...env, TRAILWARDEN_INLINE_LINES_BYTES: inlineLines },
  });
  expect(result.code).toBe(0);
  const payloads = join(dir, '.trailwarden', 'payloads');
  const blobs = existsSync(payloads) ? filesUnder(payloads) : [];
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

  test("by default a partition's or batch's lines over 64 KiB go to the scan's blob store beside the findings, not through any workflow, and are removed after", async () => {
    const plain = await embeddedScan('extstore-default-plain', { TRAILWARDEN_CODEC_KEYS: '' });
    const stored = await embeddedScan('scan-store', { TRAILWARDEN_CODEC_KEYS: '' }, '');
    expect(sorted(stored.findings)).toBe(sorted(plain.findings));
    // nothing of the lines was large enough to be offloaded: they never rode in a payload
    expect(stored.blobs.filter((file) => statSync(file).size > 256 * 1024)).toEqual([]);
    expect(existsSync(join(stored.dir, 'findings', 'scans')) ? filesUnder(join(stored.dir, 'findings', 'scans')) : []).toEqual([]);
  }, 240_000);
});
