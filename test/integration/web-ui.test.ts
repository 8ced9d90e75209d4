import { existsSync, mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { parseConfig } from '../../src/config/load';
import { buildSampleTrail } from '../../src/demo/sample-trail';
import { type DevServer, freePort, startDevServer } from '../../src/local/dev-server';
import { runDailyScan } from '../../src/cli/scan';
import { connectClient } from '../../src/cli/temporal';
import { createWorker } from '../../src/workers/worker';
import { ROOT, writeFiles } from '../helpers/cli';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const OUTPUT = join(ROOT, 'test-output');
const DATE = '2026-07-14';

/**
 * The Temporal Web UI of a dev server lists a scan found by its custom search attributes and shows
 * its summary, in headless Chromium (Debian's `chromium`, installed by .ci/run).
 */
describe('the Web UI shows scans and their search attributes', () => {
  let server: DevServer;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium), as .ci/run does`);
    server = await startDevServer({ uiPort: await freePort() });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('a scan is listed by a query on ScanDate, FindingCount and ScanStatus, and its page shows its summary', async () => {
    const work = mkdtempSync(join(tmpdir(), 'tw-ui-'));
    writeFiles(join(work, 'logs'), buildSampleTrail(DATE));
    const loaded = parseConfig({ sources: [{ type: 'directory', path: join(work, 'logs') }], findings: { directory: join(work, 'findings') } });
    const target = { address: server.address, namespace: 'default', taskQueue: 'ui-test' };
    const { worker, connection } = await createWorker(target);
    const outcome = await worker.runUntil(async () => {
      const { client, close } = await connectClient(target);
      try {
        return await runDailyScan(client, target, DATE, { sources: loaded.sources, rules: loaded.rules, findingsDirectory: loaded.findingsDirectory });
      } finally {
        await close();
      }
    });
    await connection.close();
    expect(outcome.summary.findings).toBe(6);

    mkdirSync(OUTPUT, { recursive: true });
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    const query = `ScanDate >= "${DATE}T00:00:00Z" AND FindingCount > 0 AND ScanStatus = "Completed"`;
    await page.goto(`${server.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
    await page.getByText(`scan-${DATE}`).first().waitFor({ timeout: 60_000 });
    await page.screenshot({ path: join(OUTPUT, 'web-ui-scan-list.png'), fullPage: true });

    const empty = `ScanDate >= "${DATE}T00:00:00Z" AND FindingCount > 1000`;
    await page.goto(`${server.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(empty)}`);
    await page
      .getByText(/No Workflows/i)
      .first()
      .waitFor({ timeout: 60_000 });
    expect(await page.getByText(`scan-${DATE}`).count()).toBe(0);

    await page.goto(`${server.uiUrl}/namespaces/default/workflows/${outcome.workflowId}/${outcome.runId}/history`);
    await page.getByText(`Daily scan of ${DATE}`).first().waitFor({ timeout: 60_000 });
    await page.screenshot({ path: join(OUTPUT, 'web-ui-scan-run.png'), fullPage: true });
    expect(statSync(join(OUTPUT, 'web-ui-scan-run.png')).size).toBeGreaterThan(10_000);

    await page
      .getByRole('link', { name: 'Search Attributes' })
      .or(page.getByRole('tab', { name: 'Search Attributes' }))
      .first()
      .click();
    const expected = [
      '"FindingCount": 6',
      '"ScanStatus": "Completed"',
      `"ScanDate": "${DATE}T00:00:00`,
      '"PH_Rule_ES_IMPORT_AWS_15"',
      '"SkippedObjects": 2',
      '"directory"',
    ];
    await page.waitForFunction(
      (texts) => texts.every((t) => (globalThis as unknown as { document: { body: { innerText: string } } }).document.body.innerText.includes(t)),
      expected,
      { timeout: 30_000 },
    );
    await page.screenshot({ path: join(OUTPUT, 'web-ui-search-attributes.png'), fullPage: true });
  });
});
