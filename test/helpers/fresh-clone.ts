import { cpSync, existsSync, mkdirSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ROOT, tempDir } from './cli';

/** Names a machine "without Python" lacks: the interpreters, pip, pyenv and moto. */
const PYTHON = /^(python|pip|pyenv|moto)/i;

/**
 * A folder to use as PATH that has every command of this PATH except Python's (python3, pip, pyenv
 * shims, moto_server), each as a symlink; `extra` adds commands (name -> absolute path).
 */
export function pathWithoutPython(extra: Record<string, string> = {}): string {
  const bin = tempDir('nopy-bin');
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir || /pyenv/.test(dir) || !existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      if (PYTHON.test(name) || existsSync(join(bin, name))) continue;
      try {
        if (!statSync(join(dir, name)).isFile()) continue;
        symlinkSync(join(dir, name), join(bin, name));
      } catch {
        // a dangling link or an unreadable entry: not a command
      }
    }
  }
  for (const [name, target] of Object.entries(extra)) symlinkSync(target, join(bin, name));
  return bin;
}

/**
 * A fresh clone as `npm ci` leaves it, without .tools/: the built package (bin, dist, build,
 * package.json) copied, node_modules linked (copying 500 MB would only cost time).
 */
export function freshClone(): string {
  const dir = tempDir('clone');
  for (const entry of ['package.json', 'bin', 'dist', 'build']) {
    if (existsSync(join(ROOT, entry))) cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  mkdirSync(join(dir, 'work'));
  return dir;
}
