import type { SigmaPrefilter } from '../../src/sigma';

const NON_ASCII_OR_BACKSLASH = /[\u0080-\uffff]|\\/;

function fold(text: string): string {
  return text.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** Whether a reader following the prefilter's contract would let the record (parsed, and as written in `text`) through. */
export function admits(prefilter: SigmaPrefilter, parsed: unknown, text: string): boolean {
  if (prefilter.eventNames) {
    const name = (parsed as { eventName?: unknown }).eventName;
    if (typeof name !== 'string') return false;
    const ok = prefilter.eventNames.some((p) => {
      const re = new RegExp(
        (p.op === 'equals' || p.op === 'startswith' ? '^' : '') +
          p.value.replace(/[\^$\\.*+?()[\]{}|/]/g, '\\$&') +
          (p.op === 'equals' || p.op === 'endswith' ? '$' : ''),
        p.cased ? 'u' : 'iu',
      );
      return re.test(name);
    });
    if (!ok) return false;
  }
  if (prefilter.literals && !NON_ASCII_OR_BACKSLASH.test(text)) {
    const folded = fold(text);
    if (!prefilter.literals.some((l) => folded.includes(fold(l)))) return false;
  }
  return true;
}
