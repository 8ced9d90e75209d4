'use strict';
/**
 * Stage (d) of `npm run bench -- --sigma`: DuckDB over the same *.json.gz files, running pySigma's SQL for
 * the Sigma rules (its DuckDB backend, corrected to the specification: scripts/sigma/duckdb-sql.js), on
 * every core. The conversion (Python) is done before the clock starts.
 * Child process: node sigma-duckdb.js '{"dir":…,"date":"YYYY-MM-DD","threads":N,"paths":[…],"counts":false}'
 *   paths: Sigma files or folders (default: the shipped SigmaHQ CloudTrail pack, its correlations/ included);
 *   counts: true reports numbers instead of lists.
 * Prints {seconds, convertSeconds, threads, rules, correlations, matchesByRule, peakRssBytes}: matchesByRule
 * has per rule (the 57, and the rules the correlations count, which give no findings of their own) its
 * distinct eventIDs of the day, per correlation its matches as `windowStartMs|["group value", …]`
 * (scripts/sigma/duckdb-sql.js, correlationSql), sorted.
 */
const os = require('node:os');
const { join } = require('node:path');
const { DIST, report, scanPeriod } = require('./common');
const { convertRules, runSigmaDuckdb } = require('../sigma/duckdb-sql');

async function main() {
  const { dir, date, threads = os.availableParallelism(), paths, counts = false } = JSON.parse(process.argv[2]);
  const { sigmaPythonPath, installError } = require(join(DIST, 'local', 'tools.js'));
  const python = sigmaPythonPath();
  if (!python) throw new Error(`pySigma could not be installed into .tools/: ${installError('pysigma')}`);
  const converting = process.hrtime.bigint();
  const entries = convertRules(python, paths ?? [require(join(DIST, 'sigma')).SIGMAHQ_CLOUDTRAIL_PACK]);
  const failed = entries.filter((entry) => entry.error);
  if (failed.length) throw new Error(`pySigma could not convert: ${failed.map((e) => `${e.file}: ${e.error}`).join('; ')}`);
  const rules = entries.filter((entry) => entry.kind === 'rule');
  const correlations = entries.filter((entry) => entry.kind === 'correlation');
  const convertSeconds = Number(process.hrtime.bigint() - converting) / 1e9;
  const { seconds, matchesByRule } = await runSigmaDuckdb({
    glob: `${dir}/**/*.json.gz`,
    rules,
    correlations,
    threads,
    period: date ? scanPeriod(date) : undefined,
    counts,
  });
  report({ seconds, convertSeconds, threads, rules: rules.length, correlations: correlations.length, matchesByRule });
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
