'use strict';
/**
 * npm run bench -- --sigma [--records N] [--seed S] [--workers N] [--skip-duckdb] [--exclude id,id]
 *
 * The benchmark trail with what the SigmaHQ pack's rules look for mixed in (each rule's fixture
 * records and near misses, scripts/bench/sigma-records.js, twice per 100,000 records), scanned with
 * the two seed rules plus the whole pack (57 rules and 8 correlations): (a) gunzip floor, (b) the scan
 * activity in-process, (c) the full scan through Temporal, (d) DuckDB running pySigma's SQL for the
 * same Sigma rules (scripts/bench/sigma-duckdb.js). Checks the targets of issue #17 and that (b), (c)
 * and (d) match the same records; writes bench-output/sigma.{json,md}.
 */
const { mkdirSync, writeFileSync } = require('node:fs');
const os = require('node:os');
const { join } = require('node:path');
const { ROOT, DIST, WORKER_NODE_FLAGS, partitionFolders, runChild, cpuSnapshot, otherCpuShare } = require('./common');
const { generateTrail, existingTrail, DEFAULTS } = require('./generate');
const { startServer, scanWithFreshWorkers } = require('./temporal');

const OUT = join(ROOT, 'bench-output');
const TARGETS = { temporalVsFloor: 1.5, vsDuckdb: 3, workerRssBytes: 300 * 2 ** 20 };
const OTHER_CPU_LIMIT = 0.1;

const value = (argv, name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const fmt = (n, digits = 1) =>
  n === undefined || Number.isNaN(n) ? '' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const log = (line) => process.stderr.write(`bench --sigma: ${line}\n`);

function parseArgs(argv) {
  return {
    records: Number(value(argv, '--records', 200_000)),
    seed: Number(value(argv, '--seed', DEFAULTS.seed)),
    date: value(argv, '--date', DEFAULTS.date),
    workers: Number(value(argv, '--workers', 1)),
    skipDuckdb: argv.includes('--skip-duckdb'),
    exclude: value(argv, '--exclude', '').split(',').filter(Boolean),
  };
}

/** A Sigma match as (d) reports it, in the form of a finding's key (common.js: findingKey). */
function duckKeys(matchesByRule, ruleIds) {
  const keys = [];
  for (const [ruleId, matches] of Object.entries(matchesByRule)) {
    if (!ruleIds.has(ruleId)) continue; // a correlation's rule: no findings of its own
    for (const match of matches) {
      const bar = match.indexOf('|');
      // a correlation's match: windowStartMs|["group value", ...]; a rule's: the eventID
      keys.push(
        bar < 0
          ? `${ruleId} ${match}`
          : `${ruleId} ${match.slice(0, bar)}|${JSON.parse(match.slice(bar + 1))
              .map((v) => v ?? '')
              .join('|')}`,
      );
    }
  }
  return keys.sort();
}

function compare(a, b) {
  const sa = new Set(a);
  const sb = new Set(b);
  return {
    same: a.length === b.length && a.every((k) => sb.has(k)),
    missing: b.filter((k) => !sa.has(k)).slice(0, 10),
    extra: a.filter((k) => !sb.has(k)).slice(0, 10),
  };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const { parseConfig } = require(join(DIST, 'config', 'load.js'));
  const rulesConfig = { sigma: { enabled: true, exclude: args.exclude } };
  const rules = parseConfig({ sources: [], rules: rulesConfig }).rules;
  const sigmaIds = new Set(Object.keys(rules).filter((id) => rules[id].sigma));
  mkdirSync(OUT, { recursive: true });
  const env = { TRAILWARDEN_SCRATCH_DIR: join(OUT, 'scratch-sigma'), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  Object.assign(process.env, env);
  const dir = join(OUT, `trail-${args.date}-${args.records}-${args.seed}-sigma`);
  let manifest = existingTrail(dir, { ...args, sigma: true });
  if (!manifest) {
    log(`generating ${args.records} records with the Sigma fixtures into ${dir}`);
    manifest = await generateTrail({ records: args.records, seed: args.seed, date: args.date, sigma: true, out: dir });
  }
  const cores = os.availableParallelism();
  const timed = async (work) => {
    const before = cpuSnapshot();
    const result = await work();
    return { ...result, otherCpu: otherCpuShare(before, cpuSnapshot(), cores) };
  };
  const nodeArgs = [...WORKER_NODE_FLAGS];
  const workerEnv = { ...env, MALLOC_ARENA_MAX: '2' };
  const rows = [];
  const row = (stage, r, floorSeconds, note = '') =>
    rows.push({
      stage,
      seconds: r.seconds,
      peakRssBytes: r.peakRssBytes,
      vsFloor: floorSeconds ? r.seconds / floorSeconds : undefined,
      otherCpu: r.otherCpu,
      note,
    });

  log('(a) gunzip floor');
  const floor = await timed(() => runChild('floor.js', { dir }));
  row('(a) gunzip floor', floor, floor.seconds, `${floor.threads} threads`);
  log('(b) scan activity in-process');
  const inproc = await timed(() => runChild('inproc.js', { dir, date: args.date, rulesConfig }, { env: workerEnv, nodeArgs }));
  row('(b) scanPartition in-process', inproc, floor.seconds, `${inproc.partitions} partitions, ${inproc.parsed.toLocaleString('en-US')} records parsed`);

  const { server } = await startServer();
  let temporal;
  try {
    log('(c) full scan through Temporal');
    const sources = parseConfig({ sources: partitionFolders(dir).map(({ path }) => ({ type: 'directory', path })) }).sources;
    temporal = await timed(() =>
      scanWithFreshWorkers({
        address: server.address,
        workers: args.workers,
        env: workerEnv,
        nodeArgs,
        logDir: join(OUT, 'logs', 'sigma-c'),
        date: args.date,
        sources,
        rules,
        findingsDirectory: join(OUT, 'findings', 'sigma-c'),
      }),
    );
    row(
      '(c) full scan through Temporal',
      { ...temporal, peakRssBytes: temporal.workerPeakRssBytes },
      floor.seconds,
      `${args.workers} worker(s); peak RSS of the worker`,
    );
  } finally {
    await server.stop();
  }

  let duck;
  if (!args.skipDuckdb) {
    log("(d) DuckDB running pySigma's SQL");
    // (the excluded rules too: their matches are left out of the comparison)
    duck = await timed(() => runChild('sigma-duckdb.js', { dir, date: args.date }));
    row(
      "(d) DuckDB, pySigma's SQL (corrected)",
      duck,
      floor.seconds,
      `${duck.threads} threads, ${duck.rules} rules and ${duck.correlations} correlations; conversion ${fmt(duck.convertSeconds, 1)} s before the clock`,
    );
  }

  const isSigmaKey = (key) => sigmaIds.has(key.slice(0, key.indexOf(' ')));
  const sigmaKeys = (keys) => keys.filter(isSigmaKey);
  const findings = {
    byRule: inproc.findingsByRule,
    inprocVsTemporal: compare(inproc.keys, temporal.keys),
    ...(duck ? { inprocVsDuckdb: compare(sigmaKeys(inproc.keys), duckKeys(duck.matchesByRule, sigmaIds)) } : {}),
  };
  const stage = (prefix) => rows.find((r) => r.stage.startsWith(prefix));
  const checks = [];
  const add = (name, pass, measured) => checks.push({ name, pass, measured });
  add(`(c) <= ${TARGETS.temporalVsFloor}x the gunzip floor`, stage('(c)').vsFloor <= TARGETS.temporalVsFloor, `${fmt(stage('(c)').vsFloor, 2)}x`);
  if (duck)
    add(`(c) >= ${TARGETS.vsDuckdb}x faster than (d)`, duck.seconds / temporal.seconds >= TARGETS.vsDuckdb, `${fmt(duck.seconds / temporal.seconds, 2)}x`);
  add('worker peak RSS <= 300 MB', temporal.workerPeakRssBytes <= TARGETS.workerRssBytes, `${fmt(temporal.workerPeakRssBytes / 2 ** 20, 0)} MB`);
  const sigmaFindings = sigmaKeys(inproc.keys).length;
  add(
    `identical matches in (b), (c)${duck ? ', (d)' : ''}`,
    findings.inprocVsTemporal.same && (!duck || findings.inprocVsDuckdb.same),
    `${inproc.keys.length} findings, ${sigmaFindings} of them Sigma's, of ${new Set(sigmaKeys(inproc.keys).map((k) => k.split(' ')[0])).size} Sigma rules`,
  );
  const results = {
    args,
    machine: { cpus: cores, model: os.cpus()[0]?.model, node: process.version },
    trail: { dir, ...manifest },
    rows,
    findings,
    checks,
    finishedAt: new Date().toISOString(),
  };
  const lines = [
    `Trail: ${manifest.records.toLocaleString('en-US')} records in ${manifest.objects} objects (${fmt(manifest.bytesRaw / 1e6)} MB of JSON), ${manifest.specials.sigma} of them the Sigma fixtures' records; rules: the 2 seed rules and ${sigmaIds.size} Sigma rules and correlations${args.exclude.length ? ` (excluded: ${args.exclude.join(', ')})` : ''}.`,
    '',
    '| stage | seconds | peak RSS (MB) | × floor | other CPU | notes |',
    '|---|---:|---:|---:|---:|---|',
    ...rows.map(
      (r) =>
        `| ${r.stage} | ${fmt(r.seconds, 2)} | ${fmt(r.peakRssBytes / 2 ** 20, 0)} | ${fmt(r.vsFloor, 2)} | ${fmt(100 * r.otherCpu, 0)} %${r.otherCpu > OTHER_CPU_LIMIT ? ' ⚠' : ''} | ${r.note} |`,
    ),
    '',
    '| check | result | measured |',
    '|---|---|---|',
    ...checks.map((c) => `| ${c.name} | ${c.pass ? 'pass' : '**fail**'} | ${c.measured} |`),
  ];
  if (!findings.inprocVsTemporal.same) lines.push('', `(b) vs (c): ${JSON.stringify(findings.inprocVsTemporal)}`);
  if (duck && !findings.inprocVsDuckdb.same) lines.push('', `(b) vs (d): ${JSON.stringify(findings.inprocVsDuckdb)}`);
  lines.push('', `Command: \`npm run bench -- --sigma --records ${args.records}${args.exclude.length ? ` --exclude ${args.exclude.join(',')}` : ''}\``);
  const markdown = `${lines.join('\n')}\n`;
  writeFileSync(join(OUT, 'sigma.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(OUT, 'sigma.md'), markdown);
  process.stdout.write(markdown);
  if (!checks.find((c) => c.name.startsWith('identical')).pass) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
