/**
 * Sigma field paths on a parsed CloudTrail record. A path's dots go into nested objects; where a value on the way
 * is an array, the rest of the path applies to each element and the values found are collected into an array
 * (matching treats an array as any of its elements). A key that itself contains dots is found when the nested
 * reading gives nothing: at each object the shortest key made of the next segments that leads to a value wins.
 */

/** The field value at a Sigma field path (see the module comment for arrays and keys containing dots). */
export function fieldValue(record: unknown, path: string): unknown {
  return valueAt(record, path.split('.'));
}

/** fieldValue on a path already split at its dots (compiled rules split once). */
export function valueAt(record: unknown, segments: readonly string[]): unknown {
  return lookup(record, segments, 0);
}

function lookup(value: unknown, segments: readonly string[], i: number): unknown {
  if (i === segments.length) return value;
  if (Array.isArray(value)) {
    const found: unknown[] = [];
    for (const element of value) {
      const v = lookup(element, segments, i);
      if (v !== undefined) found.push(v);
    }
    return found.length === 0 ? undefined : found;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const object = value as Record<string, unknown>;
  let key = segments[i];
  for (let j = i + 1; ; j++) {
    if (Object.prototype.hasOwnProperty.call(object, key)) {
      const v = lookup(object[key], segments, j);
      if (v !== undefined) return v;
    }
    if (j === segments.length) return undefined;
    key += '.' + segments[j];
  }
}

/** Whether `test` holds for one of the scalar values in `value`: itself, an array's elements or an object's values, recursively; numbers and booleans as their JavaScript string form; null never. */
export function anyScalar(value: unknown, test: (text: string) => boolean): boolean {
  if (typeof value === 'string') return test(value);
  if (typeof value === 'number' || typeof value === 'boolean') return test(String(value));
  if (value === null || typeof value !== 'object') return false;
  const items = Array.isArray(value) ? value : Object.values(value as Record<string, unknown>);
  for (const item of items) if (anyScalar(item, test)) return true;
  return false;
}
