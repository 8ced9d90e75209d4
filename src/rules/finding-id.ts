import { createHash } from 'node:crypto';

/** A finding id derived only from what identifies the finding, so every run and source agree. */
export function findingId(ruleId: string, ...keyParts: string[]): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([ruleId, ...keyParts]))
    .digest('hex');
  return `f-${hash.slice(0, 32)}`;
}
