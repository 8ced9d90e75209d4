import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The package's version (x.y.z), from its package.json (dist/cli and src/cli are both two folders down). */
export const VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();
