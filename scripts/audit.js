#!/usr/bin/env node
// `npm audit --omit=dev`, for CI: fails on a high or critical advisory in a production dependency.
//   node scripts/audit.js            (npm run audit)
// When the registry's audit endpoint cannot be reached or refuses the request (some registries and
// proxies answer 405), it says so in one line and exits 0, or 1 with TRAILWARDEN_AUDIT_REQUIRED=1.
'use strict';
const { spawnSync } = require('node:child_process');
const { basename, resolve } = require('node:path');

const SEVERITIES = ['critical', 'high', 'moderate', 'low', 'info'];
const FAILING = new Set(['critical', 'high']);
// what npm prints on stderr when the audit endpoint's answer was an error or never came (npm/lib/utils/audit-error.js)
const ENDPOINT_ERROR = 'audit endpoint returned an error';
const ENDPOINT_PATH = '/-/npm/v1/security/';

function parseJson(text) {
  try {
    const value = JSON.parse(text);
    return value && typeof value === 'object' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The advisories of an `auditReportVersion: 2` report, once each, with the packages whose own versions they name. */
function advisoriesOf(report) {
  const byKey = new Map();
  for (const vuln of Object.values(report.vulnerabilities ?? {})) {
    for (const via of vuln.via ?? []) {
      if (!via || typeof via !== 'object') continue; // a name: vulnerable through that dependency, listed on its own
      const key = String(via.source ?? via.url ?? via.title);
      const advisory = byKey.get(key) ?? {
        severity: SEVERITIES.includes(via.severity) ? via.severity : 'info',
        id: typeof via.url === 'string' ? via.url.split('/').pop() : String(via.source ?? ''),
        title: via.title ?? '',
        packages: new Set(),
        range: via.range ?? '',
      };
      advisory.packages.add(via.name ?? vuln.name);
      byKey.set(key, advisory);
    }
  }
  return [...byKey.values()].sort((a, b) => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) || a.id.localeCompare(b.id));
}

function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => `  ${r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')}`.trimEnd());
}

function describeReport(report) {
  const advisories = advisoriesOf(report);
  const vulnerable = Object.values(report.vulnerabilities ?? {});
  const prod = report.metadata?.dependencies?.prod;
  const lines = [`npm audit --omit=dev: ${advisories.length} advisory(ies) in ${prod ?? 'the'} production dependencies`];
  if (vulnerable.length) {
    lines.push(
      ...table([
        ['severity', 'advisories', 'vulnerable packages (with dependents)'],
        ...SEVERITIES.map((s) => [s, String(advisories.filter((a) => a.severity === s).length), String(vulnerable.filter((v) => v.severity === s).length)]),
      ]),
    );
    if (advisories.length) lines.push(...table(advisories.map((a) => [a.severity, a.id, [...a.packages].join(','), a.range, a.title])));
  }
  const failing = vulnerable.filter((v) => FAILING.has(v.severity));
  return { lines, failing, advisories };
}

/**
 * What to do with the outcome of `npm audit --omit=dev --json`: `{ exitCode, lines }`, lines to print.
 * - a report (`auditReportVersion` 2): exit 1 when a production dependency is vulnerable at high or critical severity;
 * - npm's audit endpoint error (HTTP error such as 405, or no answer: refused, DNS, timeout): one line saying why the
 *   audit could not run, exit 0, or 1 when `required` (TRAILWARDEN_AUDIT_REQUIRED=1);
 * - anything else (no lockfile, npm crashed, unreadable output): exit 1.
 */
function decideAudit({ stdout, stderr = '', status, required = false }) {
  const json = parseJson(stdout ?? '');
  if (json && json.auditReportVersion === 2 && json.vulnerabilities && typeof json.vulnerabilities === 'object') {
    const { lines, failing, advisories } = describeReport(json);
    if (failing.length) {
      const causes = advisories.filter((a) => FAILING.has(a.severity));
      const named = causes.length
        ? causes.map((a) => `${a.id} (${a.severity}, ${[...a.packages].join(',')})`).join(', ')
        : failing.map((v) => v.name).join(', ');
      return {
        outcome: 'vulnerable',
        exitCode: 1,
        lines: [
          ...lines,
          `FAIL: high or critical advisories in production dependencies: ${named}; ${failing.length} package(s) vulnerable with their dependents`,
        ],
      };
    }
    return { outcome: 'clean', exitCode: 0, lines: [...lines, 'OK: no high or critical advisory affects a production dependency'] };
  }

  const where = `${json?.message ?? ''} ${json?.uri ?? ''}`;
  if (String(stderr).includes(ENDPOINT_ERROR) || (json && where.includes(ENDPOINT_PATH))) {
    const warned = /npm warn audit (.+)/.exec(String(stderr))?.[1];
    const why = (json?.message || warned || ENDPOINT_ERROR).trim();
    const line = `npm audit could not run: the registry's audit endpoint did not give a report (${why})`;
    return required
      ? { outcome: 'unavailable', exitCode: 1, lines: [`${line}; failing because TRAILWARDEN_AUDIT_REQUIRED=1`] }
      : { outcome: 'unavailable', exitCode: 0, lines: [`${line}; not failing (set TRAILWARDEN_AUDIT_REQUIRED=1 to fail)`] };
  }

  const summary = json?.error?.summary || json?.message || String(stderr).trim().split('\n').filter(Boolean).pop() || 'no output';
  return { outcome: 'error', exitCode: 1, lines: [`npm audit failed (exit ${status ?? 'unknown'}): ${summary}`] };
}

function runNpmAudit(cwd) {
  // under `npm run`, the npm that runs us; else the one on PATH
  const execpath = process.env.npm_execpath;
  const [command, ...prefix] = execpath && /^npm-cli\.c?js$/.test(basename(execpath)) ? [process.execPath, execpath] : ['npm'];
  const args = [...prefix, 'audit', '--omit=dev', '--json', '--fetch-timeout=60000', '--fetch-retries=1'];
  return spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } });
}

function main() {
  const result = runNpmAudit(resolve(__dirname, '..'));
  if (result.error) {
    console.error(`npm audit failed: could not start npm: ${result.error.message}`);
    process.exit(1);
  }
  const decision = decideAudit({
    stdout: result.stdout,
    stderr: result.stderr,
    status: result.status,
    required: process.env.TRAILWARDEN_AUDIT_REQUIRED === '1',
  });
  for (const line of decision.lines) console.log(line);
  process.exit(decision.exitCode);
}

module.exports = { decideAudit };

if (require.main === module) main();
