/**
 * The `re` modifier: the specification's PCRE subset, translated to an equivalent JavaScript RegExp (flag `u`), so
 * that PCRE's meanings hold where JavaScript's differ: `.` does not match `\n` only (unless `s`), `$` also matches
 * before a final `\n`, `^`/`$` under `m` break lines at `\n` only, `\s` is ASCII whitespace, `{` that is no
 * quantifier is literal, any punctuation may be escaped. PCRE constructs without a JavaScript equivalent (inline
 * flags, atomic groups, possessive quantifiers, `\A`, `\Z`, `\Q`, POSIX classes, ...) are refused.
 */

export interface RegexFlags {
  i: boolean;
  m: boolean;
  s: boolean;
}

const JS_SYNTAX = '^$\\.*+?()[]{}|/';
const SPACE = '\\t\\n\\v\\f\\r ';
const QUANTIFIER = /^\{\d+(,\d*)?\}/;

function hexEscape(c: string): string {
  const code = c.codePointAt(0) ?? 0;
  return `\\u{${code.toString(16)}}`;
}

/** Translates a PCRE-subset regular expression; throws an Error naming the unsupported construct. */
export function translateRegex(source: string, flags: RegexFlags): RegExp {
  let out = '';
  let inClass = false;
  const chars = Array.from(source);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (c === '\\') {
      const next = chars[i + 1];
      if (next === undefined) throw new Error('regular expression ends with a backslash');
      i++;
      if (next === 's') out += inClass ? SPACE : `[${SPACE}]`;
      else if (next === 'S') {
        if (inClass) throw new Error('\\S inside a character class is not supported');
        out += `[^${SPACE}]`;
      } else if (/[A-Za-z0-9]/.test(next)) {
        if ('AZzGQEKRXCeghHvVNox'.includes(next) && !(next === 'x' && /^[0-9A-Fa-f]{2}$/.test(chars.slice(i + 1, i + 3).join(''))))
          throw new Error(`\\${next} is not supported`);
        out += '\\' + next;
      } else if (JS_SYNTAX.includes(next) || (inClass && next === '-')) out += '\\' + next;
      else out += hexEscape(next);
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      if (c === '[' && chars[i + 1] === ':') throw new Error('POSIX character classes are not supported');
      out += c === '[' ? '\\[' : c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += '[';
      if (chars[i + 1] === '^') {
        out += '^';
        i++;
      }
      // PCRE: a `]` first in a class is literal
      if (chars[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '.') out += flags.s ? '[\\s\\S]' : '[^\\n]';
    else if (c === '^') out += flags.m ? '(?:^|(?<=\\n))' : '^';
    else if (c === '$') out += flags.m ? '(?=\\n|$)' : '(?=\\n?$)';
    else if (c === '{') {
      const quantifier = QUANTIFIER.exec(chars.slice(i).join(''));
      if (quantifier === null) out += '\\{';
      else {
        out += quantifier[0];
        i += quantifier[0].length - 1;
        if (chars[i + 1] === '+') throw new Error('possessive quantifiers are not supported');
      }
    } else if (c === '}') out += '\\}';
    else if (c === '(' && chars[i + 1] === '?') {
      const rest = chars.slice(i + 2, i + 4).join('');
      if (rest.startsWith(':') || rest.startsWith('=') || rest.startsWith('!') || rest === '<=' || rest === '<!') out += '(';
      else if (rest.startsWith('P<')) {
        out += '(?';
        i += 2;
      } else if (rest.startsWith('<')) out += '(';
      else throw new Error(`(?${rest[0] ?? ''} groups are not supported`);
    } else if ((c === '+' || c === '*' || c === '?') && chars[i + 1] === '+') throw new Error('possessive quantifiers are not supported');
    else out += c;
  }
  if (inClass) throw new Error('unterminated character class');
  try {
    return new RegExp(out, flags.i ? 'iu' : 'u');
  } catch (e) {
    throw new Error(`invalid regular expression: ${(e as Error).message}`);
  }
}

/**
 * The longest run of plain characters every match of the regular expression contains (for the prefilter), or
 * undefined. Conservative: any top-level alternation gives none; groups, classes, `.`, anchors and class escapes
 * end a run; a character made optional by `?`, `*` or `{0,...}` is dropped.
 */
export function regexLiteral(source: string): string | undefined {
  const chars = Array.from(source);
  const runs: string[] = [];
  let run = '';
  let depth = 0;
  let inClass = false;
  const end = (): void => {
    if (run !== '') runs.push(run);
    run = '';
  };
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    let literal: string | undefined;
    if (c === '\\') {
      const next = chars[++i] ?? '';
      if (!inClass && depth === 0 && /[^A-Za-z0-9]/.test(next)) literal = next;
      else if (!inClass && depth === 0) end();
    } else if (inClass) {
      if (c === ']') inClass = false;
      continue;
    } else if (c === '[') {
      inClass = true;
      if (chars[i + 1] === ']') i++;
      else if (chars[i + 1] === '^' && chars[i + 2] === ']') i += 2;
      end();
      continue;
    } else if (c === '(') {
      depth++;
      end();
      continue;
    } else if (c === ')') {
      depth--;
      continue;
    } else if (depth > 0) continue;
    else if (c === '|') return undefined;
    else if ('.^$'.includes(c)) end();
    else if ('*+?{'.includes(c)) {
      // the quantified character was added to the run already: drop it unless at least one is required
      const optional = c === '*' || c === '?' || (c === '{' && /^\{0[,}]/.test(chars.slice(i).join('')));
      if (optional) run = Array.from(run).slice(0, -1).join('');
      end();
      if (c === '{') while (i < chars.length && chars[i] !== '}') i++;
      continue;
    } else literal = c;
    if (literal !== undefined) run += literal;
  }
  if (depth !== 0) return undefined;
  end();
  return runs.reduce<string | undefined>((a, b) => (a === undefined || b.length > a.length ? b : a), undefined);
}
