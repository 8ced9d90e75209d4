'use strict';
/**
 * npm run bench [-- --records N] [--seed S] [--workers N] [--rss-series 500000,2000000]
 *               [--skip-duckdb] [--skip-s3] [--s3-every K] [--single-source] [--profile]
 * npm run bench -- --org 500x17      an organisation trail scanned through Temporal (scripts/bench/org.js)
 * npm run bench -- --watch [...]     continuous detection at an accelerated clock (scripts/bench/watch.js)
 * npm run bench -- --sigma [...]     the SigmaHQ pack beside the seed rules, against pySigma's SQL in DuckDB (scripts/bench/sigma.js)
 *
 * Generates (or reuses) a synthetic trail under bench-output/, then measures one stage after another
 * on the same files: (a) gunzip floor, (b) scan activity in-process, (c) full scan through Temporal,
 * (d) DuckDB, (e) scan through moto S3 on every K-th object. Prints a table, checks the targets of
 * issue #6 and that (b), (c), (d) find the same findings; writes bench-output/results.{json,md}.
 */
const { mkdirSync, readFileSync, writeFileSync } = require('node:fs');
const os = require('node:os');
const { join } = require('node:path');
const { ROOT, DIST, RULE1, RULE2, WORKER_NODE_FLAGS, listTrailFiles, partitionFolders, runChild, cpuSnapshot, otherCpuShare } = require('./common');
const { generateTrail, existingTrail, DEFAULTS } = require('./generate');
const { startServer, scanWithFreshWorkers } = require('./temporal');
const { startMoto, uploadSubset, CREDENTIALS } = require('./moto');

const OUT = join(ROOT, 'bench-output');
const OTHER_CPU_LIMIT = 0.1;
const TARGETS = { inprocVsFloor: 1.3, temporalVsFloor: 1.5, vsDuckdb: 3, workerRssBytes: 256 * 2 ** 20, rssGrowth: 1.15, historyEvents: 2000 };

function parseArgs(argv) {
  const value = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
  return {
    records: Number(value('--records', DEFAULTS.records)),
    seed: Number(value('--seed', DEFAULTS.seed)),
    date: value('--date', DEFAULTS.date),
    workers: Number(value('--workers', 1)),
    s3Every: Number(value('--s3-every', 10)),
    rssSeries: value('--rss-series', '').split(',').filter(Boolean).map(Number),
    skipDuckdb: argv.includes('--skip-duckdb'),
    skipS3: argv.includes('--skip-s3'),
    singleSource: argv.includes('--single-source'),
    profile: argv.includes('--profile'),
  };
}

const log = (line) => process.stderr.write(`bench: ${line}\n`);
const mb = (bytes) => bytes / 1e6;
const fmt = (n, digits = 1) =>
  n === undefined || Number.isNaN(n) ? '' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function ensureTrail({ records, seed, date }) {
  const dir = join(OUT, `trail-${date}-${records}-${seed}`);
  const existing = existingTrail(dir, { records, seed, date });
  if (existing) {
    log(`reusing ${dir} (${existing.objects} objects, ${fmt(mb(existing.bytesGz))} MB gzipped)`);
    return { dir, manifest: existing, reused: true };
  }
  log(`generating ${records} records into ${dir}`);
  const manifest = await generateTrail({ records, seed, date, out: dir });
  log(`generated ${manifest.objects} objects, ${fmt(mb(manifest.bytesGz))} MB gzipped, ${fmt(mb(manifest.bytesRaw))} MB raw in ${fmt(manifest.seconds)} s`);
  return { dir, manifest, reused: false };
}

/** The trail's files once through the page cache, so no stage pays for the disk. */
function warmCache(dir) {
  for (const { path } of listTrailFiles(dir)) readFileSync(path);
}

function directorySources(dir, single) {
  return single ? [{ type: 'directory', path: dir }] : partitionFolders(dir).map(({ path }) => ({ type: 'directory', path }));
}

function sameKeys(a, b) {
  return a.length === b.length && a.every((k, i) => k === b[i]);
}

function diff(a, b) {
  const sb = new Set(b);
  const sa = new Set(a);
  return { missing: b.filter((k) => !sa.has(k)).slice(0, 10), extra: a.filter((k) => !sb.has(k)).slice(0, 10) };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const { parseConfig } = require(join(DIST, 'config', 'load.js'));
  const rules = parseConfig({ sources: [] }).rules;
  // sources as the CLI's config loader completes them (defaults filled in)
  const complete = (sources) => parseConfig({ sources }).sources;
  mkdirSync(OUT, { recursive: true });
  const env = { TRAILWARDEN_SCRATCH_DIR: join(OUT, 'scratch'), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...CREDENTIALS };
  Object.assign(process.env, env);
  const { dir, manifest } = await ensureTrail(args);
  warmCache(dir);
  const { date } = args;
  // --profile: V8 CPU profiles of (b) (every thread) and of the (c) worker(s), to open in Chrome DevTools
  // the worker's V8 flag and malloc setting as deployed (bin/trailwarden.js's shebang, the Dockerfile), for (b) and (c) alike
  const nodeArgs = [...WORKER_NODE_FLAGS, ...(args.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(OUT, 'profiles')}`] : [])];
  const workerEnv = { ...env, MALLOC_ARENA_MAX: '2' };
  const rows = [];
  const cores = os.availableParallelism();
  // The stages use every core, so CPU that other processes take distorts every ratio: each stage
  // reports the share of the machine they used meanwhile.
  const timed = async (work) => {
    const before = cpuSnapshot();
    const value = await work();
    return { ...value, otherCpu: otherCpuShare(before, cpuSnapshot(), cores) };
  };
  const quiet = await timed(() => new Promise((resolve) => setTimeout(() => resolve({}), 1000)));
  const results = {
    args,
    machine: {
      cpus: cores,
      model: os.cpus()[0]?.model,
      memoryBytes: os.totalmem(),
      node: process.version,
      scanner: require(join(DIST, 'scan', 'native-scanner.js')).nativeScannerStatus(),
      otherCpuBeforeStart: quiet.otherCpu,
    },
    trail: { dir, ...manifest },
    startedAt: new Date().toISOString(),
  };
  if (quiet.otherCpu > OTHER_CPU_LIMIT) log(`warning: other processes use ${fmt(100 * quiet.otherCpu, 0)} % of the CPU: the ratios will be off`);

  log('(a) gunzip floor');
  const floor = await timed(() => runChild('floor.js', { dir }));
  const row = (stage, seconds, records, bytesRaw, peakRssBytes, floorSeconds, otherCpu, note = '') =>
    rows.push({
      stage,
      seconds,
      records,
      bytesRaw,
      recordsPerSecond: records / seconds,
      mbPerSecond: mb(bytesRaw) / seconds,
      peakRssBytes,
      vsFloor: floorSeconds ? seconds / floorSeconds : undefined,
      otherCpu,
      note,
    });
  row('(a) gunzip floor', floor.seconds, manifest.records, floor.bytesRaw, floor.peakRssBytes, floor.seconds, floor.otherCpu, `${floor.threads} threads`);

  log('(a+) gunzip floor with output-sized buffers');
  const sizedFloor = await timed(() => runChild('floor.js', { dir, sized: true }));
  row(
    '(a+) gunzip, one output-sized buffer per file',
    sizedFloor.seconds,
    manifest.records,
    sizedFloor.bytesRaw,
    sizedFloor.peakRssBytes,
    floor.seconds,
    sizedFloor.otherCpu,
    `${sizedFloor.threads} threads; how the scan inflates`,
  );

  log('(b) scan activity in-process');
  const inproc = await timed(() => runChild('inproc.js', { dir, date }, { env: workerEnv, nodeArgs }));
  row(
    '(b) scanPartition in-process',
    inproc.seconds,
    inproc.records,
    inproc.bytesRaw,
    inproc.peakRssBytes,
    floor.seconds,
    inproc.otherCpu,
    `${inproc.partitions} partitions, ${inproc.threads} scan threads`,
  );

  log('(c) starting the Temporal dev server');
  const { server, startupSeconds: serverStartup } = await startServer();
  results.devServerStartupSeconds = serverStartup;
  const sources = complete(directorySources(dir, args.singleSource));
  let temporal;
  try {
    log(`(c) full scan through Temporal, ${args.workers} worker process(es), ${sources.length} directory source(s)`);
    temporal = await timed(() =>
      scanWithFreshWorkers({
        address: server.address,
        workers: args.workers,
        env: workerEnv,
        nodeArgs,
        logDir: join(OUT, 'logs', 'c'),
        date,
        sources,
        rules,
        findingsDirectory: join(OUT, 'findings', 'c'),
      }),
    );
    results.workerStartupSeconds = temporal.workerStartupSeconds;
    results.workerWarmUpSeconds = temporal.warmUpSeconds;
    results.historyEvents = temporal.historyEvents;
    results.temporalPhases = temporal.phases;
    const p = temporal.phases;
    row(
      '(c) full scan through Temporal',
      temporal.seconds,
      temporal.summary.records,
      temporal.summary.bytes,
      temporal.workerPeakRssBytes,
      floor.seconds,
      temporal.otherCpu,
      `${args.workers} worker(s), ${temporal.summary.partitions} partitions; peak RSS of the worker; ${fmt(p.beforeScanSeconds, 2)} s before the partition batches, ${fmt(p.scanSeconds, 2)} s in them, ${fmt(p.afterScanSeconds, 2)} s after`,
    );

    let duck;
    if (!args.skipDuckdb) {
      log('(d) DuckDB');
      duck = await timed(() => runChild('duckdb.js', { dir, date }));
      row(
        '(d) DuckDB read_json + SQL',
        duck.seconds,
        manifest.records,
        manifest.bytesRaw,
        duck.peakRssBytes,
        floor.seconds,
        duck.otherCpu,
        `${duck.threads} threads`,
      );
    }

    if (!args.skipS3) {
      log(`(e) moto S3 with every ${args.s3Every}th object`);
      const moto = await startMoto();
      try {
        const bucket = 'bench-trail';
        const since = Date.now();
        const objects = await uploadSubset(moto.endpoint, bucket, dir, args.s3Every);
        log(`(e) uploaded ${objects} objects in ${fmt((Date.now() - since) / 1000)} s`);
        const subFloor = await timed(() => runChild('floor.js', { dir, every: args.s3Every }));
        const s3 = await timed(() =>
          scanWithFreshWorkers({
            address: server.address,
            workers: args.workers,
            env: workerEnv,
            nodeArgs,
            logDir: join(OUT, 'logs', 'e'),
            date,
            sources: complete([{ type: 's3', bucket, endpoint: moto.endpoint }]),
            rules,
            findingsDirectory: join(OUT, 'findings', 'e'),
          }),
        );
        row(
          `(a') gunzip floor, 1/${args.s3Every} of the objects`,
          subFloor.seconds,
          s3.summary.records,
          subFloor.bytesRaw,
          subFloor.peakRssBytes,
          subFloor.seconds,
          subFloor.otherCpu,
        );
        row(
          '(e) full scan through Temporal from moto S3',
          s3.seconds,
          s3.summary.records,
          s3.summary.bytes,
          s3.workerPeakRssBytes,
          subFloor.seconds,
          s3.otherCpu,
          `ratio to (a'); ${s3.summary.partitions} partitions`,
        );
        results.s3 = { objects, findingsByRule: s3.summary.findingsByRule };
      } finally {
        moto.stop();
      }
    }

    results.rssSeries = [];
    for (const records of args.rssSeries) {
      if (records === args.records) {
        results.rssSeries.push({ records, inprocPeakRssBytes: inproc.peakRssBytes, workerPeakRssBytes: temporal.workerPeakRssBytes });
        continue;
      }
      const trail = await ensureTrail({ ...args, records });
      warmCache(trail.dir);
      log(`RSS series: ${records} records, (b) and (c)`);
      const b = await runChild('inproc.js', { dir: trail.dir, date }, { env: workerEnv, nodeArgs });
      const c = await scanWithFreshWorkers({
        address: server.address,
        workers: args.workers,
        env: workerEnv,
        nodeArgs,
        logDir: join(OUT, 'logs', `rss-${records}`),
        date,
        sources: complete(directorySources(trail.dir, args.singleSource)),
        rules,
        findingsDirectory: join(OUT, 'findings', `rss-${records}`),
      });
      results.rssSeries.push({
        records,
        inprocPeakRssBytes: b.peakRssBytes,
        inprocSeconds: b.seconds,
        workerPeakRssBytes: c.workerPeakRssBytes,
        temporalSeconds: c.seconds,
      });
    }
    results.rssSeries.sort((x, y) => x.records - y.records);

    results.rows = rows;
    results.findings = {
      inproc: inproc.findingsByRule,
      temporal: temporal.summary.findingsByRule,
      duckdb: duck?.findingsByRule,
      inprocMatchesTemporal: sameKeys(inproc.keys, temporal.keys),
      inprocMatchesDuckdb: duck ? sameKeys(inproc.keys, duck.keys) : undefined,
      ...(duck && !sameKeys(inproc.keys, duck.keys) ? { inprocVsDuckdb: diff(inproc.keys, duck.keys) } : {}),
      ...(!sameKeys(inproc.keys, temporal.keys) ? { inprocVsTemporal: diff(inproc.keys, temporal.keys) } : {}),
    };
    results.checks = checks(rows, results, temporal, duck, manifest);
  } finally {
    await server.stop();
  }
  results.finishedAt = new Date().toISOString();
  const markdown = toMarkdown(results);
  writeFileSync(join(OUT, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(OUT, 'results.md'), markdown);
  process.stdout.write(markdown);
  if (!results.checks.find((c) => c.name.startsWith('same findings')).pass) process.exitCode = 1;
}

function checks(rows, results, temporal, duck, manifest) {
  const stage = (prefix) => rows.find((r) => r.stage.startsWith(prefix));
  const [inproc, full] = [stage('(b)'), stage('(c)')];
  const list = [];
  const add = (name, pass, measured) => list.push({ name, pass, measured });
  add(`(b) <= ${TARGETS.inprocVsFloor}x the gunzip floor`, inproc.vsFloor <= TARGETS.inprocVsFloor, `${fmt(inproc.vsFloor, 2)}x`);
  add(`(c) <= ${TARGETS.temporalVsFloor}x the gunzip floor`, full.vsFloor <= TARGETS.temporalVsFloor, `${fmt(full.vsFloor, 2)}x`);
  if (duck) {
    add(`(b) >= ${TARGETS.vsDuckdb}x faster than DuckDB`, duck.seconds / inproc.seconds >= TARGETS.vsDuckdb, `${fmt(duck.seconds / inproc.seconds, 2)}x`);
    add(`(c) >= ${TARGETS.vsDuckdb}x faster than DuckDB`, duck.seconds / full.seconds >= TARGETS.vsDuckdb, `${fmt(duck.seconds / full.seconds, 2)}x`);
  }
  add('worker peak RSS <= 256 MB', temporal.workerPeakRssBytes <= TARGETS.workerRssBytes, `${fmt(temporal.workerPeakRssBytes / 2 ** 20, 0)} MB`);
  const series = results.rssSeries;
  if (series.length >= 2) {
    const [first, last] = [series[0], series[series.length - 1]];
    add(
      `worker peak RSS not growing with records (${first.records} -> ${last.records}: <= ${TARGETS.rssGrowth}x)`,
      last.workerPeakRssBytes <= first.workerPeakRssBytes * TARGETS.rssGrowth,
      series.map((s) => `${s.records}: ${fmt(s.workerPeakRssBytes / 2 ** 20, 0)} MB`).join(', '),
    );
  }
  add(
    `history of one daily scan < ${TARGETS.historyEvents} events`,
    temporal.historyEvents < TARGETS.historyEvents,
    `${temporal.historyEvents} events for ${manifest.objects} objects`,
  );
  const f = results.findings;
  const total = (byRule) => (byRule ? Object.values(byRule).reduce((a, b) => a + b, 0) : 0);
  add(
    'same findings in (b), (c)' + (duck ? ', (d)' : ''),
    f.inprocMatchesTemporal && f.inprocMatchesDuckdb !== false,
    `(b) ${total(f.inproc)}, (c) ${total(f.temporal)}${duck ? `, (d) ${total(f.duckdb)}` : ''} (rule 1 / rule 2: ${f.inproc[RULE1]} / ${f.inproc[RULE2]})`,
  );
  return list;
}

function toMarkdown(results) {
  const lines = [];
  const t = results.trail;
  lines.push(
    `Trail: ${t.records.toLocaleString('en-US')} records in ${t.objects.toLocaleString('en-US')} objects (${fmt(mb(t.bytesGz))} MB gzipped, ${fmt(mb(t.bytesRaw))} MB of JSON), one day, seed ${t.seed}.`,
  );
  lines.push(
    `Machine: ${results.machine.cpus} cores (${results.machine.model}), ${fmt(results.machine.memoryBytes / 2 ** 30, 0)} GiB, Node ${results.machine.node}. Scanner: ${results.machine.scanner}. ${results.finishedAt}.`,
  );
  lines.push('');
  lines.push('| stage | seconds | records/s | MB/s (JSON) | peak RSS (MB) | × floor | other CPU | notes |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---|');
  for (const r of results.rows) {
    const other = `${fmt(100 * r.otherCpu, 0)} %${r.otherCpu > OTHER_CPU_LIMIT ? ' ⚠' : ''}`;
    lines.push(
      `| ${r.stage} | ${fmt(r.seconds, 2)} | ${fmt(r.recordsPerSecond, 0)} | ${fmt(r.mbPerSecond, 0)} | ${fmt(r.peakRssBytes / 2 ** 20, 0)} | ${fmt(r.vsFloor, 2)} | ${other} | ${r.note} |`,
    );
  }
  lines.push('', '"other CPU": share of the machine that processes outside the benchmark used during the stage; ⚠ above 10 %: that stage\'s time is inflated.');
  lines.push('');
  lines.push(
    `Start-up, not in the times above: Temporal dev server ${fmt(results.devServerStartupSeconds, 2)} s, worker process(es) ${fmt(results.workerStartupSeconds, 2)} s, then ${fmt(results.workerWarmUpSeconds ?? 0, 2)} s for warm-up scans of an empty folder (a fresh worker's first workflow task loads the workflow bundle).`,
  );
  if (results.rssSeries.length) {
    lines.push('');
    lines.push('| records | (b) peak RSS (MB) | (c) worker peak RSS (MB) |');
    lines.push('|---:|---:|---:|');
    for (const s of results.rssSeries)
      lines.push(`| ${s.records.toLocaleString('en-US')} | ${fmt(s.inprocPeakRssBytes / 2 ** 20, 0)} | ${fmt(s.workerPeakRssBytes / 2 ** 20, 0)} |`);
  }
  lines.push('');
  lines.push('| check | result | measured |');
  lines.push('|---|---|---|');
  for (const c of results.checks) lines.push(`| ${c.name} | ${c.pass ? 'pass' : '**fail**'} | ${c.measured} |`);
  const f = results.findings;
  if (f.inprocVsDuckdb) lines.push('', `(b) vs (d): ${JSON.stringify(f.inprocVsDuckdb)}`);
  if (f.inprocVsTemporal) lines.push('', `(b) vs (c): ${JSON.stringify(f.inprocVsTemporal)}`);
  const a = results.args;
  lines.push(
    '',
    `Command: \`npm run bench -- --records ${a.records}${a.workers !== 1 ? ` --workers ${a.workers}` : ''}${a.rssSeries.length ? ` --rss-series ${a.rssSeries.join(',')}` : ''}${a.skipDuckdb ? ' --skip-duckdb' : ''}${a.skipS3 ? ' --skip-s3' : ''}${a.singleSource ? ' --single-source' : ''}\``,
  );
  return `${lines.join('\n')}\n`;
}

if (process.argv.includes('--watch')) {
  // the watch benchmark is a run of its own, with its own arguments
  const args = process.argv.slice(2).filter((arg) => arg !== '--watch');
  const { status } = require('node:child_process').spawnSync(process.execPath, [join(__dirname, 'watch.js'), ...args], { stdio: 'inherit' });
  process.exit(status ?? 1);
}

if (process.argv.includes('--sigma')) {
  const args = process.argv.slice(2).filter((arg) => arg !== '--sigma');
  const { status } = require('node:child_process').spawnSync(process.execPath, [join(__dirname, 'sigma.js'), ...args], { stdio: 'inherit' });
  process.exit(status ?? 1);
}

if (process.argv.includes('--org')) {
  // the organisation benchmark is a run of its own
  const { status } = require('node:child_process').spawnSync(
    process.execPath,
    [join(__dirname, 'org.js'), process.argv[process.argv.indexOf('--org') + 1] ?? '500x17'],
    { stdio: 'inherit' },
  );
  process.exit(status ?? 1);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
