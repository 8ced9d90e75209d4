import * as fs from 'node:fs';
import * as path from 'node:path';
import { readDocuments, selectDocuments } from './parse';
import { SigmaLoadError, type SigmaDocument, type SigmaLoadOptions } from './types';

/** Absolute path of the shipped SigmaHQ CloudTrail pack in this repository. */
export const SIGMAHQ_CLOUDTRAIL_PACK: string = path.resolve(__dirname, '..', '..', 'sigma', 'sigmahq-cloudtrail');

/** Reads files and folders (recursively *.yml, *.yaml), validates every document; throws SigmaLoadError on the first problem. Correlations' rule references must resolve within what is loaded. */
export function loadSigma(paths: string[], options: SigmaLoadOptions = {}): SigmaDocument[] {
  const documents: SigmaDocument[] = [];
  for (const given of paths) {
    const inPack = path.resolve(given) === SIGMAHQ_CLOUDTRAIL_PACK || path.resolve(given).startsWith(SIGMAHQ_CLOUDTRAIL_PACK + path.sep);
    for (const file of filesOf(given)) {
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch (e) {
        throw new SigmaLoadError(file, undefined, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
      const source = inPack ? path.relative(SIGMAHQ_CLOUDTRAIL_PACK, path.resolve(file)).split(path.sep).join('/') : file;
      documents.push(...readDocuments(text, source, options));
    }
  }
  return selectDocuments(documents, options);
}

function filesOf(given: string): string[] {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(given);
  } catch {
    throw new SigmaLoadError(given, undefined, 'does not exist');
  }
  if (!stat.isDirectory()) return [given];
  const out: string[] = [];
  for (const entry of fs.readdirSync(given, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const full = path.join(given, entry.name);
    if (entry.isDirectory()) out.push(...filesOf(full));
    else if (/\.ya?ml$/i.test(entry.name)) out.push(full);
  }
  return out;
}
