/**
 * Sigma conditions: `or` < `and` < `not` < `1 of`/`all of` < parentheses (least to most binding), search
 * identifiers, `them` (all identifiers not starting with `_`) and identifier patterns with `*` wildcards.
 */

export type Condition =
  | { op: 'or' | 'and'; args: Condition[] }
  | { op: 'not'; arg: Condition }
  | { op: 'ref'; name: string }
  | { op: 'of'; quantifier: 'one' | 'all'; names: string[] };

const TOKEN = /\s*(\(|\)|[A-Za-z0-9_*-]+|\S)/y;
const KEYWORDS = new Set(['and', 'or', 'not', 'of', 'them', 'all', '1']);

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  for (;;) {
    const start = TOKEN.lastIndex;
    const m = TOKEN.exec(text);
    if (m === null) {
      if (text.slice(start).trim() !== '') throw new Error(`malformed condition "${text}"`);
      return tokens;
    }
    tokens.push(m[1]);
  }
}

function wildcardRegex(pattern: string): RegExp {
  return new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[-]/g, '\\-'))
      .join('.*')}$`,
  );
}

/** Parses one condition over the given search identifiers; throws an Error saying what is malformed. */
export function parseCondition(text: string, identifiers: readonly string[]): Condition {
  const tokens = tokenize(text);
  let pos = 0;
  const fail = (why: string): never => {
    throw new Error(`malformed condition "${text}": ${why}`);
  };
  const peek = (): string | undefined => tokens[pos];
  const expect = (t: string): void => {
    if (tokens[pos] !== t) fail(`expected "${t}" ${tokens[pos] === undefined ? 'at the end' : `before "${tokens[pos]}"`}`);
    pos++;
  };

  // `a op b op c`, each operand parsed by the next tighter level
  const chain = (op: 'or' | 'and', operand: () => Condition): Condition => {
    const args = [operand()];
    while (peek() === op) {
      pos++;
      args.push(operand());
    }
    return args.length === 1 ? args[0] : { op, args };
  };
  const parseOr = (): Condition => chain('or', parseAnd);
  const parseAnd = (): Condition => chain('and', parseNot);
  const parseNot = (): Condition => {
    if (peek() === 'not') {
      pos++;
      return { op: 'not', arg: parseNot() };
    }
    return parsePrimary();
  };
  const parsePrimary = (): Condition => {
    const t = peek();
    if (t === undefined) return fail('an expression is missing at the end');
    if (t === '(') {
      pos++;
      const inner = parseOr();
      expect(')');
      return inner;
    }
    if (t === '1' || t === 'all') {
      pos++;
      expect('of');
      const target = peek();
      if (target === undefined || target === '(' || target === ')' || (KEYWORDS.has(target) && target !== 'them'))
        return fail(`"${t} of" needs "them" or an identifier pattern`);
      pos++;
      const names = target === 'them' ? identifiers.filter((n) => !n.startsWith('_')) : identifiers.filter((n) => wildcardRegex(target).test(n));
      if (names.length === 0) fail(`"${t} of ${target}" matches no search identifier`);
      return { op: 'of', quantifier: t === '1' ? 'one' : 'all', names };
    }
    if (/^\d+$/.test(t) && tokens[pos + 1] === 'of') return fail(`"${t} of" is not supported (only "1 of" and "all of")`);
    if (KEYWORDS.has(t) || !/^[A-Za-z0-9_-]+$/.test(t)) return fail(`unexpected "${t}"`);
    if (!identifiers.includes(t)) return fail(`unknown search identifier "${t}"`);
    pos++;
    return { op: 'ref', name: t };
  };

  const condition = parseOr();
  if (pos < tokens.length) fail(`unexpected "${tokens[pos]}"`);
  return condition;
}
