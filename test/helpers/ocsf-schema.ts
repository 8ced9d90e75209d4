/**
 * Checks an event against the vendored OCSF definitions (vendor/ocsf/1.8.0): the class's attributes
 * through its `extends` chain with the applied profiles' `$include`s, each object's the same way, the
 * dictionary's types and arrays, `required` attributes, `at_least_one`/`just_one` constraints, enums,
 * and no attribute the schema does not define.
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

export const OCSF_ROOT = join(__dirname, '..', '..', 'vendor', 'ocsf', '1.8.0');

interface AttributeDef {
  requirement?: string;
  profile?: string | null;
  enum?: Record<string, unknown>;
  type?: string;
  is_array?: boolean;
}
interface Definition {
  name: string;
  extends?: string;
  uid?: number;
  category?: string;
  attributes: Record<string, AttributeDef> & { $include?: string[] };
  constraints?: { at_least_one?: string[]; just_one?: string[] };
}
interface Resolved {
  attributes: Record<string, AttributeDef>;
  constraints?: Definition['constraints'];
}

function load<T>(path: string): T {
  return JSON.parse(readFileSync(join(OCSF_ROOT, path), 'utf8')) as T;
}

const dictionary = load<{ attributes: Record<string, AttributeDef>; types: { attributes: Record<string, { type?: string }> } }>('dictionary.json');

function resolve(definition: Definition, find: (name: string) => Definition, profiles: readonly string[]): Resolved {
  const parent = definition.extends ? resolve(find(definition.extends), find, profiles) : { attributes: {} };
  const attributes: Record<string, AttributeDef> = { ...parent.attributes };
  for (const include of definition.attributes.$include ?? []) {
    const profile = basename(include, '.json');
    if (!profiles.includes(profile)) continue; // attributes of a profile not applied do not exist
    for (const [name, attr] of Object.entries(load<Definition>(include).attributes)) attributes[name] = { ...attributes[name], ...attr, profile };
  }
  for (const [name, attr] of Object.entries(definition.attributes)) {
    if (name === '$include') continue;
    attributes[name] = { ...attributes[name], ...(attr as AttributeDef) };
  }
  return { attributes, constraints: definition.constraints ?? parent.constraints };
}

function objectDefinition(name: string): Definition {
  return load<Definition>(`objects/${name}.json`);
}

const SCALARS: Record<string, (v: unknown) => boolean> = {
  string_t: (v) => typeof v === 'string',
  integer_t: (v) => Number.isInteger(v),
  long_t: (v) => Number.isInteger(v),
  float_t: (v) => typeof v === 'number',
  boolean_t: (v) => typeof v === 'boolean',
  json_t: () => true,
};

function scalarCheck(type: string): ((v: unknown) => boolean) | undefined {
  for (let t: string | undefined = type; t; t = dictionary.types.attributes[t]?.type) if (SCALARS[t]) return SCALARS[t];
  return undefined;
}

/** observable.type_id: its own enum plus the ids the dictionary's types declare (as the OCSF server builds it). */
function observableTypeIds(): Record<string, unknown> {
  const ids: Record<string, unknown> = { ...objectDefinition('observable').attributes.type_id.enum };
  for (const type of Object.values(dictionary.types.attributes) as { observable?: number }[]) if (type.observable) ids[String(type.observable)] = type;
  return ids;
}

function check(value: Record<string, unknown>, resolved: Resolved, path: string, profiles: readonly string[], problems: string[]): void {
  const has = (name: string) => value[name] !== undefined && value[name] !== null;
  for (const [name, attr] of Object.entries(resolved.attributes)) {
    const applies = !attr.profile || profiles.includes(attr.profile);
    if (attr.requirement === 'required' && applies && !has(name)) problems.push(`${path}${name}: required, missing`);
  }
  const { at_least_one: atLeastOne, just_one: justOne } = resolved.constraints ?? {};
  if (atLeastOne && !atLeastOne.some(has)) problems.push(`${path || 'event'}: needs at least one of ${atLeastOne.join(', ')}`);
  if (justOne && justOne.filter(has).length !== 1) problems.push(`${path || 'event'}: needs exactly one of ${justOne.join(', ')}`);
  for (const [name, item] of Object.entries(value)) {
    const attr = resolved.attributes[name];
    const known = dictionary.attributes[name];
    if (!attr || !known) {
      problems.push(`${path}${name}: not an attribute of this class or object`);
      continue;
    }
    const type = known.type ?? 'string_t';
    const items = known.is_array ? item : [item];
    if (known.is_array && !Array.isArray(item)) {
      problems.push(`${path}${name}: must be an array`);
      continue;
    }
    const allowed = /(^|\.)observables\[\d+\]\.$/.test(path) && name === 'type_id' ? observableTypeIds() : (attr.enum ?? known.enum);
    (items as unknown[]).forEach((element, i) => {
      const where = `${path}${name}${known.is_array ? `[${i}]` : ''}`;
      if (type === 'object') {
        if (typeof element !== 'object' || element === null) problems.push(`${where}: must be an object`);
        return;
      }
      const scalar = scalarCheck(type);
      if (scalar) {
        if (!scalar(element)) problems.push(`${where}: must be ${type}, is ${JSON.stringify(element)}`);
        else if (allowed && !['class_uid', 'category_uid', 'type_uid'].includes(name) && !(String(element) in allowed)) {
          problems.push(`${where}: ${JSON.stringify(element)} is not one of ${Object.keys(allowed).join(', ')}`);
        }
        return;
      }
      if (typeof element !== 'object' || element === null || Array.isArray(element)) {
        problems.push(`${where}: must be a ${type} object`);
        return;
      }
      check(element as Record<string, unknown>, resolve(objectDefinition(type), objectDefinition, profiles), `${where}.`, profiles, problems);
    });
  }
}

/** The problems of one event of the class at `classPath` (e.g. events/findings/detection_finding.json); [] when valid. */
export function ocsfProblems(event: Record<string, unknown>, classPath: string, profiles: readonly string[]): string[] {
  const classes = new Map<string, string>([
    ['base_event', 'events/base_event.json'],
    ['finding', 'events/findings/finding.json'],
  ]);
  const eventClass = load<Definition>(classPath);
  const resolved = resolve(eventClass, (name) => load<Definition>(classes.get(name) ?? `${name}.json`), profiles);
  const problems: string[] = [];
  check(event, resolved, '', profiles, problems);
  return problems;
}

/** class_uid of a class: its category's uid × 1000 + its own uid (as the OCSF server computes it). */
export function ocsfClassUid(classPath: string): number {
  const eventClass = load<Definition>(classPath);
  let category = eventClass.category;
  for (let parent = eventClass.extends; !category && parent;) {
    const definition = load<Definition>(parent === 'finding' ? 'events/findings/finding.json' : 'events/base_event.json');
    category = definition.category;
    parent = definition.extends;
  }
  const categories = load<{ attributes: Record<string, { uid: number }> }>('categories.json');
  return categories.attributes[category!].uid * 1000 + eventClass.uid!;
}
