/**
 * Sigma string values: literal text with `*` (any run, possibly empty) and `?` (exactly one character, i.e. one
 * Unicode code point) wildcards, and `windash`'s character classes. Case-insensitive matching is Unicode simple
 * case folding (RegExp flags `iu`), the same everywhere in this engine.
 */

export const ANY = { wildcard: '*' } as const;
export const ONE = { wildcard: '?' } as const;
/** one character of a set (windash) */
export interface CharClass {
  chars: string[];
}
export type Part = string | typeof ANY | typeof ONE | CharClass;
export type Pattern = Part[];

/** Parses a Sigma string: `\*`, `\?` and `\\` are escapes; any other backslash is a plain backslash. */
export function parseSigmaString(text: string): Pattern {
  const parts: Pattern = [];
  let literal = '';
  const flush = (): void => {
    if (literal !== '') parts.push(literal);
    literal = '';
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') {
      const next = text[i + 1];
      if (next === '*' || next === '?' || next === '\\') {
        literal += next;
        i++;
      } else literal += '\\';
    } else if (c === '*' || c === '?') {
      flush();
      parts.push(c === '*' ? ANY : ONE);
    } else literal += c;
  }
  flush();
  return parts;
}

/** A pattern matching exactly this text. */
export function literalPattern(text: string): Pattern {
  return text === '' ? [] : [text];
}

export function isWildcardFree(pattern: Pattern): boolean {
  return pattern.every((p) => typeof p === 'string' || 'chars' in p);
}

/** The texts a wildcard-free pattern stands for (character classes expanded). */
export function expandClasses(pattern: Pattern, limit: number): string[] {
  let texts = [''];
  for (const part of pattern) {
    if (typeof part === 'string') texts = texts.map((t) => t + part);
    else if ('chars' in part) texts = texts.flatMap((t) => part.chars.map((c) => t + c));
    else throw new Error('a wildcard cannot be encoded');
    if (texts.length > limit) throw new Error(`more than ${limit} variants`);
  }
  return texts;
}

/** `*` added before (contains, endswith) and/or after (contains, startswith) unless already there. */
export function widen(pattern: Pattern, before: boolean, after: boolean): Pattern {
  const out = [...pattern];
  if (before && out[0] !== ANY) out.unshift(ANY);
  if (after && out[out.length - 1] !== ANY) out.push(ANY);
  return out;
}

/** The five dashes windash makes interchangeable. */
export const WINDASH = ['-', '/', '\u2013', '\u2014', '\u2015'];

/** windash: every dash of the value may be any of the five. */
export function windash(pattern: Pattern): Pattern {
  const out: Pattern = [];
  for (const part of pattern) {
    if (typeof part !== 'string') {
      out.push(part);
      continue;
    }
    let literal = '';
    for (const c of part) {
      if (WINDASH.includes(c)) {
        if (literal !== '') out.push(literal);
        literal = '';
        out.push({ chars: WINDASH });
      } else literal += c;
    }
    if (literal !== '') out.push(literal);
  }
  return out;
}

const REGEX_SYNTAX = /[\^$\\.*+?()[\]{}|/]/g;

function escapeRegex(text: string): string {
  return text.replace(REGEX_SYNTAX, '\\$&');
}

function partSource(part: Part): string {
  if (typeof part === 'string') return escapeRegex(part);
  if ('chars' in part) return `[${part.chars.map((c) => (c === '-' ? '\\-' : escapeRegex(c))).join('')}]`;
  return part === ANY ? '[\\s\\S]*' : '[\\s\\S]';
}

/** A test of a whole text against the pattern; `cased` false folds case (Unicode simple case folding). */
export function patternTest(pattern: Pattern, cased: boolean): (text: string) => boolean {
  if (cased) {
    const only = pattern.length === 1 ? pattern[0] : undefined;
    if (pattern.length === 0) return (t) => t === '';
    if (typeof only === 'string') return (t) => t === only;
    if (pattern.length === 2 && pattern[0] === ANY && pattern[1] === ANY) return () => true;
    const mid = pattern[1];
    if (pattern.length === 3 && pattern[0] === ANY && pattern[2] === ANY && typeof mid === 'string') return (t) => t.includes(mid);
    const first = pattern[0];
    const last = pattern[pattern.length - 1];
    if (pattern.length === 2 && typeof first === 'string' && last === ANY) return (t) => t.startsWith(first);
    if (pattern.length === 2 && first === ANY && typeof last === 'string') return (t) => t.endsWith(last);
  }
  const regex = new RegExp(`^${pattern.map(partSource).join('')}$`, cased ? 'u' : 'iu');
  return (t) => regex.test(t);
}
