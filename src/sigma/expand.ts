/**
 * The `expand` modifier: `%name%` placeholders in values replaced by the configured values (OR-linked; each a
 * Sigma string, wildcards and all), at load, so that a rule's detection travels with its placeholders expanded.
 * `\%` is a plain percent sign. A placeholder without configured values makes the rule refused.
 */

const LIMIT = 1000;

export function expandDetection(detection: Record<string, unknown>, placeholders: Record<string, string[]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(detection)) {
    if (name === 'condition') out[name] = value;
    else if (Array.isArray(value)) out[name] = value.map((v) => (isMap(v) ? expandMap(v, placeholders) : v));
    else out[name] = isMap(value) ? expandMap(value, placeholders) : value;
  }
  return out;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function expandMap(map: Record<string, unknown>, placeholders: Record<string, string[]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(map)) {
    const [field, ...modifiers] = key.split('|');
    if (!modifiers.includes('expand')) {
      if (key in out) throw new Error(`field "${key}" appears twice after placeholder expansion`);
      out[key] = value;
      continue;
    }
    if (modifiers.includes('all')) throw new Error(`unsupported feature: modifiers "expand" and "all" together (field "${field}")`);
    const rest = [field, ...modifiers.filter((m) => m !== 'expand')].join('|');
    if (rest in out || rest in map) throw new Error(`field "${rest}" appears twice after placeholder expansion`);
    const values = Array.isArray(value) ? value : [value];
    const expanded = values.flatMap((v) => (typeof v === 'string' ? expandValue(v, placeholders, field) : [v]));
    out[rest] = expanded.length === 1 ? expanded[0] : expanded;
  }
  return out;
}

function expandValue(value: string, placeholders: Record<string, string[]>, field: string): string[] {
  let results = [''];
  let i = 0;
  while (i < value.length) {
    if (value[i] === '\\' && value[i + 1] === '%') {
      results = results.map((r) => r + '%');
      i += 2;
    } else if (value[i] === '%') {
      const end = value.indexOf('%', i + 1);
      if (end < 0) throw new Error(`unterminated placeholder in "${value}" (field "${field}")`);
      const name = value.slice(i + 1, end);
      const replacements = placeholders[name];
      if (replacements === undefined || replacements.length === 0)
        throw new Error(`placeholder %${name}% has no configured values (modifier "expand", field "${field}")`);
      results = results.flatMap((r) => replacements.map((p) => r + p));
      if (results.length > LIMIT) throw new Error(`placeholders in "${value}" expand to more than ${LIMIT} values`);
      i = end + 1;
    } else {
      results = results.map((r) => r + value[i]);
      i++;
    }
  }
  return results;
}
