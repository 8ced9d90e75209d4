'use strict';
/** Helpers shared by the benchmark's stages. */
const { spawn } = require('node:child_process');
const { readdirSync, statSync, readFileSync } = require('node:fs');
const { join, resolve } = require('node:path');

const ROOT = resolve(__dirname, '..', '..');
const DIST = join(ROOT, 'dist');

/**
 * The V8 flags a deployed worker runs with, read from bin/trailwarden.js's shebang (the Dockerfile's
 * ENTRYPOINT has the same), so that every stage runs the worker as deployed.
 */
const WORKER_NODE_FLAGS = require('node:fs')
  .readFileSync(join(ROOT, 'bin', 'trailwarden.js'), 'utf8')
  .split('\n')[0]
  .split(/\s+/)
  .filter((word) => word.startsWith('--'));
const RULE1 = 'PH_Rule_ES_IMPORT_AWS_15';
const RULE2 = '21702832-aff3-4bd6-a8e1-663b6818503d';

/** Every *.json.gz below dir, sorted, with sizes. */
function listTrailFiles(dir) {
  const files = [];
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.json.gz')) {
      const path = join(entry.parentPath, entry.name);
      files.push({ path, size: statSync(path).size });
    }
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** The AWSLogs/<account>/CloudTrail/<region> folders of a trail, largest first. */
function partitionFolders(dir) {
  const folders = [];
  const logs = join(dir, 'AWSLogs');
  for (const account of readdirSync(logs)) {
    for (const region of readdirSync(join(logs, account, 'CloudTrail'))) {
      const path = join(logs, account, 'CloudTrail', region);
      folders.push({ path, size: listTrailFiles(path).reduce((sum, f) => sum + f.size, 0) });
    }
  }
  return folders.sort((a, b) => b.size - a.size);
}

/** The comparable identity of a finding: its rule id and the parts its id is made of (each rule's `identity`). */
function findingKey(finding) {
  // the built rules (npm run bench builds dist/ first)
  const { ruleOf } = require(join(DIST, 'rules'));
  return `${finding.ruleId} ${ruleOf(finding).identity(finding).join('|')}`;
}

function readJsonLines(file) {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

/**
 * Runs `node script` with a JSON argument and returns the JSON object the child prints as its last
 * stdout line. The child's stderr passes through.
 */
function runChild(script, arg, { env, nodeArgs = [] } = {}) {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, join(__dirname, script), JSON.stringify(arg)], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      const last = out.trim().split('\n').pop();
      if (code !== 0) reject(new Error(`${script} exited with ${code}: ${out.slice(-2000)}`));
      else resolveRun(JSON.parse(last));
    });
  });
}

/** Peak resident set size of a live process, in bytes (Linux VmHWM). */
function peakRss(pid) {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : undefined;
}

/** What a child stage prints: its result and its own peak RSS (every thread included). */
function report(result) {
  process.stdout.write(`\n${JSON.stringify({ ...result, peakRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
}

const TICKS = 100; // USER_HZ: /proc reports CPU time in 1/100 s on Linux

/** CPU seconds of each of a process's threads, by thread id (its main thread's id is the pid). */
function threadCpu(pid) {
  const threads = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const fields = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
      threads.set(Number(tid), (Number(fields[11]) + Number(fields[12])) / TICKS);
    } catch {
      // ended meanwhile
    }
  }
  return threads;
}

/** The busiest threads between two threadCpu readings, as text: "main 1.20, 2.10, 1.90, …, others 0.40 CPU s". */
function threadCpuDelta(pid, before, after, shown = 4) {
  const deltas = [...after].map(([tid, seconds]) => ({ main: tid === pid, seconds: seconds - (before.get(tid) ?? 0) })).sort((a, b) => b.seconds - a.seconds);
  const top = deltas.slice(0, shown).map((d) => `${d.main ? 'main ' : ''}${d.seconds.toFixed(2)}`);
  const rest = deltas.slice(shown).reduce((sum, d) => sum + d.seconds, 0);
  return `${top.join(', ')}, others ${rest.toFixed(2)} CPU s`;
}

/** CPU seconds of a /proc/<pid>/stat: its own and its reaped children's. */
function processCpu(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return { ppid: Number(fields[1]), seconds: (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / TICKS };
  } catch {
    return undefined; // gone meanwhile
  }
}

/**
 * CPU seconds used so far by the whole machine and by this process with its children (the stage
 * processes, workers, dev server, moto): the difference of two snapshots tells how much CPU other
 * processes took during a stage.
 */
function cpuSnapshot() {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  const machine = (ticks.reduce((a, b) => a + b, 0) - ticks[3] - ticks[4]) / TICKS; // minus idle and iowait
  let ours = processCpu(process.pid).seconds;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cpu = processCpu(entry);
    if (cpu?.ppid === process.pid) ours += cpu.seconds;
  }
  return { at: process.hrtime.bigint(), machine, ours };
}

/** Share of the machine's CPU capacity that other processes used between two snapshots. */
function otherCpuShare(before, after, cores) {
  const wall = Number(after.at - before.at) / 1e9;
  return Math.max(0, after.machine - before.machine - (after.ours - before.ours)) / (wall * cores);
}

function scanPeriod(date) {
  const startMs = Date.parse(`${date}T00:00:00Z`);
  return { startMs, endMs: startMs + 86_400_000 };
}

module.exports = {
  ROOT,
  DIST,
  WORKER_NODE_FLAGS,
  RULE1,
  RULE2,
  listTrailFiles,
  partitionFolders,
  findingKey,
  readJsonLines,
  runChild,
  peakRss,
  processCpu,
  threadCpu,
  threadCpuDelta,
  report,
  scanPeriod,
  cpuSnapshot,
  otherCpuShare,
};
