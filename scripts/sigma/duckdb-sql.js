'use strict';
/**
 * pySigma's DuckDB SQL (scripts/sigma/to-duckdb-sql.py) corrected to the Sigma specification, and the
 * flattened table it runs on, built by DuckDB itself from CloudTrail files: the independent check of
 * trailwarden's Sigma engine (test/sigma/duckdb-check.test.ts) and stage (d) of `npm run bench -- --sigma`
 * (scripts/bench/sigma-duckdb.js).
 *
 * The backend's deviations from the specification, and how correctSql() mends each:
 * - plain values compare with `=`, case-sensitively: every value comparison becomes ILIKE;
 * - a literal % or _ in a value is a LIKE wildcard (`$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`): the
 *   converter marks the real wildcards (U+E000, U+E001), everything else is escaped (ESCAPE '\');
 * - a missing field makes NOT (...) NULL, so a rule with `not` drops the event: every field test is
 *   COALESCEd to true/false, so NOT never sees NULL;
 * - dotted names are columns of a flattened table: fieldValues() reads them from the record's JSON;
 * - the backend reads a field as one scalar: here a field is the list of its values (arrays along the
 *   path are opened, and arrays and objects at its end down to their scalars), and a test holds when
 *   one of them passes; numbers and booleans compare as their JSON text, JSON null as absent.
 *   `fieldref` compares case-insensitively, like every Sigma value.
 */
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');

const CONVERTER = join(__dirname, 'to-duckdb-sql.py');
const MULTI = '\uE000';
const SINGLE = '\uE001';
const PREFIX = 'SELECT * FROM logs WHERE ';

const sqlString = (text) => `'${text.replace(/'/g, "''")}'`;
const quoteIdent = (name) => `"${name.replace(/"/g, '""')}"`;

/** Splits the backend's WHERE clause into tokens: strings, quoted names, words, numbers, operators. */
function tokenize(sql) {
  const tokens = [];
  const pattern = /\s+|'((?:[^']|'')*)'|"((?:[^"]|"")*)"|([A-Za-z_][A-Za-z0-9_.$]*)|(-?\d+(?:\.\d+)?)|(<=|>=|<>|!=|=|<|>|\(|\)|,)/y;
  let match;
  while (pattern.lastIndex < sql.length) {
    const at = pattern.lastIndex;
    match = pattern.exec(sql);
    if (!match) throw new Error(`cannot read the SQL at ${at}: ${sql.slice(at, at + 40)}`);
    if (match[1] !== undefined) tokens.push({ kind: 'string', value: match[1].replace(/''/g, "'") });
    else if (match[2] !== undefined) tokens.push({ kind: 'field', value: match[2].replace(/""/g, '"') });
    else if (match[3] !== undefined) {
      const upper = match[3].toUpperCase();
      if (['AND', 'OR', 'NOT', 'ILIKE', 'GLOB', 'IS', 'NULL'].includes(upper)) tokens.push({ kind: upper });
      else if (match[3] === 'regexp_matches') tokens.push({ kind: 'REGEXP' });
      else tokens.push({ kind: 'field', value: match[3] });
    } else if (match[4] !== undefined) tokens.push({ kind: 'number', value: match[4] });
    else if (match[5] !== undefined) tokens.push({ kind: match[5] });
  }
  return tokens;
}

/** The backend's condition as a tree: {op: 'and'|'or', items} | {op: 'not', item} | {op: atom, field, ...}. */
function parse(sql) {
  const tokens = tokenize(sql);
  let i = 0;
  const peek = () => tokens[i]?.kind;
  const take = (kind) => {
    if (peek() !== kind) throw new Error(`expected ${kind} at token ${i} of: ${sql}`);
    return tokens[i++];
  };
  const list = (op, next) => {
    const items = [next()];
    while (peek() === op.toUpperCase()) {
      i++;
      items.push(next());
    }
    return items.length === 1 ? items[0] : { op, items };
  };
  const or = () => list('or', and);
  const and = () => list('and', not);
  function not() {
    if (peek() !== 'NOT') return primary();
    i++;
    return { op: 'not', item: not() };
  }
  function primary() {
    if (peek() === '(') {
      i++;
      const inner = or();
      take(')');
      return inner;
    }
    if (peek() === 'REGEXP') {
      i++;
      take('(');
      const field = take('field').value;
      take(',');
      const regex = take('string').value;
      take(')');
      return { op: 'regex', field, regex };
    }
    const field = take('field').value;
    const kind = peek();
    i++;
    if (kind === '=' && peek() === 'field') return { op: 'fieldref', field, other: take('field').value };
    if (kind === '=' && peek() === 'number') return { op: 'equals', field, value: take('number').value };
    if (kind === '=') return { op: 'equals', field, value: take('string').value };
    if (kind === 'ILIKE') return { op: 'like', field, pattern: take('string').value };
    if (kind === 'IS') {
      const negated = peek() === 'NOT' && (i++, true);
      take('NULL');
      return { op: negated ? 'notNull' : 'null', field };
    }
    throw new Error(`a field test this check does not correct (${kind ?? 'end'} after ${field}) in: ${sql}`);
  }
  const tree = or();
  if (i !== tokens.length) throw new Error(`unexpected ${peek()} at token ${i} of: ${sql}`);
  return tree;
}

/** A LIKE pattern with ESCAPE '\': the marks become wildcards, every other character is literal. */
function likePattern(text) {
  let out = '';
  for (const ch of text) {
    if (ch === MULTI) out += '%';
    else if (ch === SINGLE) out += '_';
    else if (ch === '%' || ch === '_' || ch === '\\') out += `\\${ch}`;
    else out += ch;
  }
  return sqlString(out);
}

/**
 * True when one of the field's values passes `test` (a function of the SQL of one value); never NULL.
 * A string, number or boolean at the plain path is the field's only value (no array on the way), so
 * the list of values (fieldValues) is built only for the other rows.
 */
function anyValue(field, test, equalsAscii) {
  const slow = `coalesce(len(list_filter(${fieldValues(field)}, lambda x: ${test('x')})) > 0, false)`;
  const text = quoteIdent(TEXT + field);
  // a plain ASCII value against the record's lower-cased text, read once: what ILIKE without wildcards does
  const fast = equalsAscii !== undefined ? `(${quoteIdent(LOWER + field)} = ${sqlString(equalsAscii.toLowerCase())})` : `coalesce(${test(text)}, false)`;
  if (!field.includes('.')) return `(CASE WHEN ${text} IS NOT NULL THEN ${fast} ELSE ${slow} END)`;
  const plain = plainPath(field);
  return `(CASE json_type(${plain}) WHEN 'VARCHAR' THEN coalesce(${test(`json_extract_string(${plain}, '$')`)}, false) WHEN 'BIGINT' THEN coalesce(${test(`${plain}::VARCHAR`)}, false) WHEN 'UBIGINT' THEN coalesce(${test(`${plain}::VARCHAR`)}, false) WHEN 'BOOLEAN' THEN coalesce(${test(`${plain}::VARCHAR`)}, false) ELSE ${slow} END)`;
}

/** The column of a top-level field's text when it is a string, number or boolean (else NULL), read once per record. */
const TEXT = 'sigma_text:';
const LOWER = 'sigma_lower:';
const scalarText = (json) =>
  `CASE json_type(${json}) WHEN 'VARCHAR' THEN json_extract_string(${json}, '$') WHEN 'BIGINT' THEN ${json}::VARCHAR WHEN 'UBIGINT' THEN ${json}::VARCHAR WHEN 'BOOLEAN' THEN ${json}::VARCHAR END`;

/** AND and OR as CASE, which DuckDB evaluates lazily: a field is read only for the rows that still need it. */
const lazy = (op, items) =>
  items.reduceRight((rest, item) => (op === 'and' ? `(CASE WHEN ${item} THEN ${rest} ELSE false END)` : `(CASE WHEN ${item} THEN true ELSE ${rest} END)`));

function emit(node) {
  switch (node.op) {
    case 'and':
    case 'or':
      return lazy(node.op, node.items.map(emit));
    case 'not':
      return `(NOT ${emit(node.item)})`;
    case 'equals':
      return anyValue(node.field, (x) => `${x} ILIKE ${likePattern(node.value)} ESCAPE '\\'`, /^[\x20-\x7e]*$/.test(node.value) ? node.value : undefined);
    case 'like':
      return anyValue(node.field, (x) => `${x} ILIKE ${likePattern(node.pattern)} ESCAPE '\\'`);
    case 'regex':
      return anyValue(node.field, (x) => `regexp_matches(${x}, ${sqlString(node.regex)})`);
    case 'null':
      return nullTest(node.field);
    case 'notNull':
      return `(len(list_filter(${walk(node.field)}, lambda x: x IS NOT NULL)) > 0)`;
    case 'fieldref':
      return `(len(list_intersect(list_transform(${fieldValues(node.field)}, lambda x: lower(x)), list_transform(${fieldValues(node.other)}, lambda x: lower(x)))) > 0)`;
    default:
      throw new Error(`unknown node ${node.op}`);
  }
}

/** The corrected WHERE condition of one of the converter's rules (its markedSql). */
function correctSql(markedSql) {
  if (!markedSql.startsWith(PREFIX)) throw new Error(`not a single-rule query: ${markedSql.slice(0, 80)}`);
  return emit(parse(markedSql.slice(PREFIX.length)));
}

/** How deep the flattening opens nested arrays and objects; deeper values fail the query (sigma_open). */
const DEPTH = 12;

/**
 * Macros for the flattened table (expanded by DuckDB at bind time). A field's values are found the way
 * its dotted path reads: from the record's top-level key, each key is looked up in every value so far,
 * arrays on the way are opened first; at the end arrays and objects are opened down to their scalars
 * (a test on an object holds when it holds for a scalar inside it), strings as themselves, numbers and
 * booleans as their JSON text, JSON null dropped.
 */
const MACROS = [
  `CREATE OR REPLACE TEMP MACRO sigma_arrays(L) AS flatten(list_transform(L, lambda x: CASE WHEN json_type(x) = 'ARRAY' THEN json_extract(x, '$[*]') ELSE [x] END))`,
  `CREATE OR REPLACE TEMP MACRO sigma_open(L) AS flatten(list_transform(L, lambda x: CASE json_type(x) WHEN 'ARRAY' THEN json_extract(x, '$[*]') WHEN 'OBJECT' THEN json_extract(x, '$.*') ELSE [x] END))`,
  `CREATE OR REPLACE TEMP MACRO sigma_key(L, path) AS list_transform(L, lambda x: json_extract(x, path))`,
  `CREATE OR REPLACE TEMP MACRO sigma_text(L) AS list_filter(list_transform(L, lambda x: CASE json_type(x) WHEN 'VARCHAR' THEN json_extract_string(x, '$') WHEN 'NULL' THEN NULL WHEN 'ARRAY' THEN error('sigma: a value nested deeper than ${DEPTH}') WHEN 'OBJECT' THEN error('sigma: a value nested deeper than ${DEPTH}') ELSE x::VARCHAR END), lambda v: v IS NOT NULL)`,
];

const repeat = (macro, times, list) => (times === 0 ? list : repeat(macro, times - 1, `${macro}(${list})`));
const jsonPath = (keys) => `'$${keys.map((k) => `.${JSON.stringify(k).replace(/'/g, "''")}`).join('')}'`;

/** The JSON at a dotted field's path through objects only, from its top-level key held as JSON in column "top". */
function plainPath(field) {
  const [top, ...rest] = field.split('.');
  return rest.length ? `json_extract(${quoteIdent(top)}, ${jsonPath(rest)})` : quoteIdent(top);
}

/** The JSON values a dotted field's path reaches (SQL NULL where a key is missing), before opening them. */
function walk(field) {
  const [top, ...rest] = field.split('.');
  let list = `[${quoteIdent(top)}]`;
  for (const key of rest) list = `sigma_key(${repeat('sigma_arrays', DEPTH, list)}, ${jsonPath([key])})`;
  return list;
}

/** The values of a dotted field, a list of strings (see MACROS). */
function fieldValues(field) {
  return `sigma_text(${repeat('sigma_open', DEPTH, walk(field))})`;
}

/**
 * Sigma's `null`: the path reaches nothing but missing keys and JSON nulls, or one of the values (an
 * array's elements) is JSON null. An empty object or array is a value, not null.
 */
function nullTest(field) {
  const plain = plainPath(field);
  const reached = walk(field);
  return `(CASE WHEN json_type(${plain}) IN ('VARCHAR', 'BIGINT', 'UBIGINT', 'DOUBLE', 'BOOLEAN', 'OBJECT') THEN false ELSE len(list_filter(${reached}, lambda x: x IS NOT NULL AND json_type(x) <> 'NULL')) = 0 OR len(list_filter(${repeat('sigma_arrays', DEPTH, reached)}, lambda x: json_type(x) = 'NULL')) > 0 END)`;
}

// eventTime as src/cloudtrail/record.ts's eventTimeMs reads it: YYYY-MM-DDTHH:MM:SS[.fraction]Z, milliseconds kept
const TIME = `(CASE WHEN regexp_full_match(r.eventTime, '\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z') THEN epoch_ms(try_strptime(left(r.eventTime, 19), '%Y-%m-%dT%H:%M:%S')) + coalesce(rpad(regexp_extract(r.eventTime, '\\.(\\d{1,3})', 1), 3, '0')::INTEGER, 0) END)`;
const COMPARE = { gt: '>', gte: '>=', lt: '<', lte: '<=', eq: '=', neq: '<>' };

/**
 * A correlation's matches, written here rather than taken from the backend, whose correlation SQL counts
 * rows (not distinct events) over all time (no windows; event_count ignores the timespan) and loses the
 * % of a startswith: events of the referenced rules, one per (rule, eventID), the earliest; windows aligned
 * to the epoch (docs/sigma.md); groups by the group-by fields' text (missing: a group of its own). Each match
 * is `windowStartMs|[group values]` (JSON, null for missing). Top-level group-by fields only.
 */
function correlationSql(correlation, rules, counts) {
  const { type, groupBy, timespanSeconds, condition } = correlation.correlation;
  const span = timespanSeconds * 1000;
  for (const field of [...groupBy, ...(condition?.field ? [condition.field] : [])])
    if (field.includes('.')) throw new Error(`${correlation.id}: a nested group-by or value_count field (${field}) is not supported by this check`);
  const groups = groupBy.map((field, i) => `${quoteIdent(TEXT + field)} AS g${i}`);
  const events = correlation.correlation.rules
    .map((id, r) => {
      const index = rules.findIndex((rule) => rule.id === id);
      if (index < 0) throw new Error(`${correlation.id}: the rule ${id} it refers to was not converted`);
      const valueField = condition?.field ? `, ${quoteIdent(TEXT + condition.field)} AS v` : ', NULL AS v';
      return `SELECT ${r} AS rule, eventID, ts${groups.map((g) => `, ${g}`).join('')}${valueField} FROM tested WHERE m${index} AND ts IS NOT NULL`;
    })
    .join(' UNION ALL ');
  const g = groupBy.map((_, i) => `g${i}`);
  const measure = { event_count: 'count(DISTINCT eventID)', temporal: 'count(DISTINCT rule)', value_count: 'count(DISTINCT v)' }[type];
  if (!measure) throw new Error(`${correlation.id}: correlation type ${type} is not supported by this check`);
  const having = condition ? `${measure} ${COMPARE[condition.op]} ${Number(condition.count)}` : `${measure} >= ${correlation.correlation.rules.length}`;
  const key = `(w * ${span})::VARCHAR || '|' || to_json([${g.map((x) => `${x}::VARCHAR`).join(', ')}]::VARCHAR[])::VARCHAR`;
  return `(SELECT ${counts ? 'count(*)' : `coalesce(list(k ORDER BY k), [])`} FROM (
  SELECT ${key} AS k FROM (
    SELECT (ts // ${span}) AS w, * FROM (${events})
    QUALIFY row_number() OVER (PARTITION BY rule, eventID ORDER BY ts${g.map((x) => `, ${x}`).join('')}) = 1)
  GROUP BY w${g.map((x) => `, ${x}`).join('')} HAVING ${having}))`;
}

/**
 * The statements that run the rules and correlations over every file of `glob` (gzipped CloudTrail
 * files: an object with a Records array); the last returns one row: per rule, the distinct eventIDs it
 * matched, then per correlation its matches (correlationSql); with `counts`, their numbers. With
 * `period` ({startMs, endMs}), only records with an eventID and an eventTime in it count, as in the scan.
 */
function matchStatements(glob, rules, period, counts = false, correlations = []) {
  const groupFields = correlations.flatMap((c) => [...c.correlation.groupBy, ...(c.correlation.condition?.field ? [c.correlation.condition.field] : [])]);
  const tops = [...new Set([...rules.flatMap((rule) => rule.fields), ...groupFields].map((f) => f.split('.')[0]))]
    .filter((t) => t !== 'eventID' && t !== 'eventTime')
    .sort();
  const record = `STRUCT(eventID VARCHAR, eventTime VARCHAR${tops.map((t) => `, ${quoteIdent(t)} JSON`).join('')})[]`;
  const inPeriod = period ? `WHERE coalesce(r.eventID, '') <> '' AND ${TIME} >= ${period.startMs} AND ${TIME} < ${period.endMs}` : '';
  const tests = rules.map((rule, index) => `${correctSql(rule.markedSql)} AS m${index}`).join(',\n  ');
  const outputs = [
    ...rules.map((_, index) => (counts ? `count(DISTINCT eventID) FILTER (WHERE m${index})` : `list(DISTINCT eventID) FILTER (WHERE m${index})`)),
    ...correlations.map((c) => correlationSql(c, rules, counts)),
  ];
  return [
    ...MACROS,
    `WITH records AS (
  SELECT unnest(Records) AS r
  FROM read_json(${sqlString(glob)}, format = 'unstructured', columns = {Records: ${sqlString(record)}}, maximum_object_size = 1073741824)
), logs AS (SELECT r.eventID AS eventID, ${TIME} AS ts${tops.map((t) => `, r.${quoteIdent(t)} AS ${quoteIdent(t)}, ${scalarText(`r.${quoteIdent(t)}`)} AS ${quoteIdent(TEXT + t)}, lower(${quoteIdent(TEXT + t)}) AS ${quoteIdent(LOWER + t)}`).join('')}
  FROM records ${inPeriod}),
tested AS ${correlations.length ? 'MATERIALIZED ' : ''}(SELECT eventID, ts${[...new Set(groupFields)].map((f) => `, ${quoteIdent(TEXT + f)}`).join('')},
  ${tests}
FROM logs)
SELECT ${outputs.join(', ') || '1'} FROM tested`,
  ];
}

/**
 * Runs the rules and correlations (the converter's entries of kind 'rule' and 'correlation') over the
 * files: {seconds, matchesByRule: {ruleId: eventID[] sorted, each once; correlationId: match keys
 * (correlationSql) sorted}, or their numbers with `counts`}. `threads` defaults to DuckDB's own choice
 * (every core); `period` as in matchStatements.
 */
async function runSigmaDuckdb({ glob, rules, correlations = [], threads, period, counts = false }) {
  const { DuckDBInstance } = require('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:', threads ? { threads: String(threads) } : {});
  const connection = await db.connect();
  const started = process.hrtime.bigint();
  let rows = [];
  for (const statement of matchStatements(glob, rules, period, counts, correlations)) rows = (await connection.runAndReadAll(statement)).getRowsJS();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const matchesByRule = Object.fromEntries(
    [...rules, ...correlations].map((rule, index) => [rule.id, counts ? Number(rows[0][index]) : [...(rows[0][index] ?? [])].sort()]),
  );
  connection.closeSync();
  db.closeSync();
  return { seconds, matchesByRule };
}

/** The converter's entries for Sigma files or folders, run with `python` (tools' sigmaPythonPath()). */
function convertRules(python, paths) {
  return JSON.parse(execFileSync(python, [CONVERTER, ...paths], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 }));
}

module.exports = { convertRules, MULTI, SINGLE, parse, correctSql, fieldValues, matchStatements, runSigmaDuckdb };
