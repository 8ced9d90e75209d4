/**
 * Writes JSON in any of the ways RFC 8259 allows, for the trail generator (trail-generator.ts): what
 * JSON.parse makes of the text is always the value given, but the text varies: whitespace between any
 * tokens, \u escapes (surrogate pairs as two), "\/", members in another order, integers as 5.0 or 50E-1.
 * Members and Raw say exactly what to write where the value alone cannot: a repeated key, a number
 * JSON.parse cannot give back (1e400, -0), a key spelled with an escape, or a deliberate syntax error.
 */
import { prng } from './prng';

/** An object written with exactly these members, in this order; a key may repeat (JSON.parse keeps the last). */
export class Members {
  constructor(readonly entries: ReadonlyArray<readonly [key: string | Raw, value: unknown]>) {}
}

/** Text written as it is. */
export class Raw {
  constructor(readonly text: string) {}
}

/** A subtree written in another style than the one around it (a pretty-printed record in a compact file). */
export class Styled {
  constructor(
    readonly style: Style,
    readonly value: unknown,
  ) {}
}

/** Seeded choices (test/helpers/prng.ts), so that every run writes the same files. */
export class Dice {
  private readonly next: () => number;

  constructor(seed: number) {
    this.next = prng(seed);
  }

  float(): number {
    return this.next();
  }

  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  /** min..max, both included */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }

  text(length: number, alphabet: string): string {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[Math.floor(this.next() * alphabet.length)];
    return out;
  }

  uuid(): string {
    const hex = (n: number) => this.text(n, '0123456789abcdef');
    return `${hex(8)}-${hex(4)}-4${hex(3)}-8${hex(3)}-${hex(12)}`;
  }
}

/** Where whitespace may go: after `{`/`[`/`,` (inner), before `}`/`]` (end), around `:`, before `,`. */
export type Gap = 'inner' | 'end' | 'beforeColon' | 'afterColon' | 'beforeComma';

export interface Style {
  name: string;
  /** the whitespace written at a token boundary; depth is that of the enclosing object or array */
  gap(at: Gap, depth: number, dice: Dice): string;
  /** per character of a string: written as \uXXXX (or its short escape) */
  escapeRate: number;
  /** per "/": written as \/ */
  slashRate: number;
  /** per key the reader compares (see JsonWriter): one of its characters written as \uXXXX */
  spellKeyRate: number;
  /** the same for string values */
  spellValueRate: number;
  /** per plain object: its members in a random order */
  shuffleRate: number;
  /** per integer: written in another form of the same number */
  numberRate: number;
}

export const compact: Style = {
  name: 'compact',
  gap: () => '',
  escapeRate: 0,
  slashRate: 0,
  spellKeyRate: 0,
  spellValueRate: 0,
  shuffleRate: 0,
  numberRate: 0,
};

/** Compact, as CloudTrail writes, but some of the strings the reader compares are spelled with escapes. */
export const compactSpelled: Style = { ...compact, name: 'compact-spelled', slashRate: 0.2, spellKeyRate: 0.05, spellValueRate: 0.3 };

export function pretty(indent: string): Style {
  return {
    ...compact,
    name: `pretty(${JSON.stringify(indent)})`,
    gap: (at, depth) => (at === 'inner' ? `\n${indent.repeat(depth + 1)}` : at === 'end' ? `\n${indent.repeat(depth)}` : at === 'afterColon' ? ' ' : ''),
  };
}

const WHITESPACE = [' ', '\n', '\t', '\r', '\r\n', '  ', ' \n\t ', '\n\n'];

/** Whitespace anywhere, many escapes, shuffled members, integers in other forms. */
export function chaotic(escapeRate: number): Style {
  return {
    name: `chaotic(${escapeRate})`,
    gap: (_at, _depth, dice) => (dice.chance(0.3) ? dice.pick(WHITESPACE) : ''),
    escapeRate,
    slashRate: 0.5,
    spellKeyRate: 0.5,
    spellValueRate: 0.5,
    shuffleRate: 0.5,
    numberRate: 0.3,
  };
}

const SHORT_ESCAPES: Record<number, string> = { 0x08: '\\b', 0x09: '\\t', 0x0a: '\\n', 0x0c: '\\f', 0x0d: '\\r', 0x22: '\\"', 0x5c: '\\\\' };

/** Strings longer than this are written with JSON.stringify's escapes only: a per-character pass over MBs is slow. */
const LONG_STRING = 64 * 1024;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export class JsonWriter {
  /**
   * spelled: the strings (keys and values) the reader compares; the style's spell rates decide how
   * often each is written with an escape somewhere in it.
   */
  constructor(
    private readonly dice: Dice,
    private readonly spelled: ReadonlySet<string> = new Set(),
  ) {}

  /** A whole document: the value, with the style's whitespace before and after it. */
  document(value: unknown, style: Style): string {
    return style.gap('end', 0, this.dice) + this.value(value, style, 0) + style.gap('end', 0, this.dice);
  }

  value(value: unknown, style: Style, depth: number): string {
    if (value instanceof Styled) return this.value(value.value, value.style, depth);
    if (value instanceof Raw) return value.text;
    if (value === null || value === undefined) return 'null';
    if (typeof value === 'boolean') return value ? 'true' : 'false';
    if (typeof value === 'number') return this.number(value, style);
    if (typeof value === 'string') return this.string(value, style);
    if (Array.isArray(value))
      return this.container(
        '[',
        ']',
        value.map((item) => (gap: string) => gap + this.value(item, style, depth + 1)),
        style,
        depth,
      );
    let entries: ReadonlyArray<readonly [string | Raw, unknown]>;
    if (value instanceof Members) entries = value.entries;
    else if (isPlainObject(value)) {
      const own = Object.entries(value).filter(([, v]) => v !== undefined);
      entries = this.dice.chance(style.shuffleRate) ? this.dice.shuffle(own) : own;
    } else throw new Error(`cannot write ${String(value)} as JSON`);
    const members = entries.map(
      ([key, v]) =>
        (gap: string) =>
          gap +
          (key instanceof Raw ? key.text : this.string(key, style, true)) +
          style.gap('beforeColon', depth, this.dice) +
          ':' +
          style.gap('afterColon', depth, this.dice) +
          this.value(v, style, depth + 1),
    );
    return this.container('{', '}', members, style, depth);
  }

  private container(open: string, close: string, items: ((gap: string) => string)[], style: Style, depth: number): string {
    const parts = items.map((item) => item(style.gap('inner', depth, this.dice)));
    const separator = () => `${style.gap('beforeComma', depth, this.dice)},`;
    let out = open;
    parts.forEach((part, i) => (out += (i ? separator() : '') + part));
    return out + style.gap('end', depth, this.dice) + close;
  }

  private number(value: number, style: Style): string {
    const text = JSON.stringify(value);
    if (!Number.isSafeInteger(value) || !this.dice.chance(style.numberRate)) return text;
    const forms = [`${text}.0`, `${text}e0`, `${text}E+0`, `${text}.000e-0`];
    if (value !== 0) forms.push(`${text}0e-1`, `${text}0E-1`);
    return this.dice.pick(forms);
  }

  private hex(code: number): string {
    const digits = code.toString(16).padStart(4, '0');
    return `\\u${this.dice.chance(0.5) ? digits : digits.toUpperCase()}`;
  }

  string(text: string, style: Style, isKey = false): string {
    if (text.length > LONG_STRING) return JSON.stringify(text);
    const spell = isKey ? style.spellKeyRate : style.spellValueRate;
    const force = text.length > 0 && this.spelled.has(text) && this.dice.chance(spell) ? this.dice.int(0, text.length - 1) : -1;
    let out = '"';
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      const next = text.charCodeAt(i + 1);
      if (code >= 0xd800 && code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        // a surrogate pair: its UTF-8 bytes, or both halves escaped
        out += i === force || i + 1 === force || this.dice.chance(style.escapeRate * 4) ? this.hex(code) + this.hex(next) : text.slice(i, i + 2);
        i++;
      } else if (code >= 0xd800 && code <= 0xdfff) {
        out += this.hex(code); // a lone surrogate has no UTF-8 form: only its escape is JSON
      } else if (i === force || this.dice.chance(style.escapeRate)) {
        out += SHORT_ESCAPES[code] !== undefined && this.dice.chance(0.5) ? SHORT_ESCAPES[code] : this.hex(code);
      } else if (SHORT_ESCAPES[code] !== undefined) {
        out += SHORT_ESCAPES[code];
      } else if (code < 0x20) {
        out += this.hex(code);
      } else if (code === 0x2f && this.dice.chance(style.slashRate)) {
        out += '\\/';
      } else {
        out += text[i];
      }
    }
    return `${out}"`;
  }
}
