import { compileSigmaRule, loadSigma, parseSigma, SIGMAHQ_CLOUDTRAIL_PACK, type CompiledSigmaRule, type SigmaRule } from '../../src/sigma';
import { prng } from '../helpers/prng';
import { record } from './helpers';
import { admits } from './prefilter-check';

// rules beyond the pack's, for the modifiers and conditions the pack does not use
const EXTRA = [
  "    s:\n        userAgent|contains|all:\n            - 'Boto3/'\n            - 'md/Botocore'\n    condition: s",
  "    s:\n        userIdentity.arn|startswith: 'arn:aws:sts::'\n        userAgent|endswith: 'exec-env/CloudShell'\n    condition: s",
  "    s:\n        requestParameters.userData|base64offset|contains: 'curl '\n    condition: s",
  "    s:\n        requestParameters.cmd|windash|contains: ' -enc '\n    condition: s",
  "    s:\n        requestParameters.policyDocument|re|i: 'Effect.{1,4}Allow'\n    condition: s",
  '    s:\n        requestParameters.bucketName|exists: true\n    f:\n        errorCode|exists: true\n    condition: s and not f',
  "    k:\n        - 'HIDDEN_DUE_TO_SECURITY_REASONS'\n        - 'TruffleHog'\n    condition: k",
  "    a:\n        eventName|startswith: 'Get'\n    b:\n        eventName|endswith: 'Policy'\n    condition: a or b",
  "    a:\n        eventName: 'List*'\n        eventSource: 's3.amazonaws.com'\n    b:\n        userIdentity.type: Root\n    condition: 1 of them",
  "    a:\n        requestParameters.port: 443\n    b:\n        requestParameters.enable: 'false'\n    condition: a or b",
  "    a:\n        eventName|cased: 'ListBuckets'\n    condition: a",
  "    a:\n        userAgent: 'k*'\n    condition: a",
];

const pack = loadSigma([SIGMAHQ_CLOUDTRAIL_PACK]).filter((d): d is SigmaRule => d.kind === 'rule');
const extra = EXTRA.map(
  (d, i) => parseSigma(`title: t\nid: extra-${i}\nlogsource:\n    product: aws\n    service: cloudtrail\ndetection:\n${d}\n`, 'extra.yml')[0] as SigmaRule,
);
const compiled: CompiledSigmaRule[] = [...pack, ...extra].map(compileSigmaRule);

/** The rules' selections as lists of [path, values], so that random records match often; plus odd values. */
function selections(rules: SigmaRule[]): [string, unknown[]][][] {
  const out: [string, unknown[]][][] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v).filter(([k]) => k !== 'condition');
      const leaves = entries.filter(
        ([, x]) => x === null || typeof x !== 'object' || (Array.isArray(x) && x.every((y) => typeof y !== 'object' || y === null)),
      );
      if (leaves.length > 0) out.push(leaves.map(([k, x]) => [k.split('|')[0], Array.isArray(x) ? x : [x]]));
      entries.filter(([, x]) => x !== null && typeof x === 'object' && !leaves.some(([, l]) => l === x)).forEach(([, x]) => walk(x));
    }
  };
  for (const r of rules) walk(r.detection);
  return out;
}
const maps = selections([...pack, ...extra]);
const ODD: unknown[] = [
  'curl http://x',
  'powershell /enc x',
  ' \u2013enc ',
  443,
  '443',
  true,
  false,
  null,
  'KELVIN \u212a',
  '\u017f',
  'exec-env/CloudShell',
  'AWS Internal',
];

function randomText(rand: () => number): string {
  const alphabet = 'abcXYZ09 -/:"\\\u00e9\u212a\u017f*?';
  return Array.from({ length: Math.floor(rand() * 4) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
}

/** A value drawn from the rules' values: wildcards filled, case flipped, sometimes a number, an array or an object around it. */
function randomValue(rand: () => number, from: unknown[]): unknown {
  let v = rand() < 0.1 ? ODD[Math.floor(rand() * ODD.length)] : from[Math.floor(rand() * from.length)];
  if (typeof v === 'string') {
    v = v.replace(/\*/g, () => randomText(rand)).replace(/\?/g, () => 'q');
    if (rand() < 0.3) v = (v as string).replace(/[a-z]/gi, (c) => (rand() < 0.5 ? c.toUpperCase() : c.toLowerCase()));
    if (rand() < 0.15) v = randomText(rand) + v + randomText(rand);
    if (rand() < 0.1 && typeof v === 'string') v = Buffer.from(v).toString('base64');
  }
  const shape = rand();
  if (shape < 0.1) return [randomText(rand), v];
  if (shape < 0.15) return { inner: v };
  return v;
}

function randomRecord(rand: () => number): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (let k = Math.floor(rand() * 3); k >= 0; k--) {
    const map = maps[Math.floor(rand() * maps.length)];
    for (const [path, values] of map) if (rand() < 0.9) fields[path === '' ? 'requestParameters.text' : path] = randomValue(rand, values);
  }
  const r = record(fields);
  if (typeof r.eventName !== 'string' && rand() < 0.7) r.eventName = String(r.eventName);
  return r;
}

/** The record written unusually but without escapes: spaces, key order, numbers as exponents, an earlier duplicate key. */
function unusualWriting(value: unknown, rand: () => number): string {
  const space = (): string => [' ', '', '\n  ', '\t'][Math.floor(rand() * 4)];
  if (typeof value === 'number') {
    if (Number.isInteger(value) && rand() < 0.5) return `${value}.0${rand() < 0.5 ? 'e0' : ''}`;
    return value.toExponential();
  }
  if (Array.isArray(value)) return `[${space()}${value.map((v) => unusualWriting(v, rand)).join(`,${space()}`)}${space()}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(() => rand() - 0.5);
    const parts = entries.map(([k, v]) => `${JSON.stringify(k)}${space()}:${space()}${unusualWriting(v, rand)}`);
    if (entries.length > 0 && rand() < 0.3) parts.unshift(`${JSON.stringify(entries[0][0])}:"shadowed"`);
    return `{${space()}${parts.join(`,${space()}`)}${space()}}`;
  }
  return JSON.stringify(value);
}

describe('Sigma prefilters are sound', () => {
  test('whenever a rule matches a random record, its prefilter admits the record as JSON.stringify and in unusual writings', () => {
    let matched = 0;
    const rulesMatched = new Set<string>();
    for (let seed = 1; seed <= 200; seed++) {
      const rand = prng(seed);
      for (let n = 0; n < 25; n++) {
        const r = randomRecord(rand);
        const writings = [JSON.stringify(r), unusualWriting(r, rand), unusualWriting(r, rand)];
        for (const w of writings) expect(JSON.parse(w)).toEqual(r);
        for (const c of compiled) {
          if (!c.matches(r)) continue;
          matched++;
          rulesMatched.add(c.rule.id);
          for (const w of writings) {
            if (!admits(c.prefilter, r, w))
              throw new Error(`seed ${seed}: rule ${c.rule.id} (${c.rule.source}) matches ${w} but its prefilter ${JSON.stringify(c.prefilter)} excludes it`);
          }
        }
      }
    }
    expect(matched).toBeGreaterThan(1000);
    expect(rulesMatched.size).toBeGreaterThan(compiled.length * 0.6);
  });

  test('every rule of the pack has a prefilter; a rule on numbers alone has none', () => {
    for (const c of compiled.slice(0, pack.length)) expect(c.prefilter.eventNames ?? c.prefilter.literals).toBeDefined();
    expect(compiled[pack.length + 9].prefilter).toEqual({});
  });

  test('an eventName prefilter keeps what the rule needs: equals, startswith, a cased value', () => {
    const get = (i: number) => compiled[pack.length + i].prefilter;
    expect(get(7).eventNames).toEqual(
      expect.arrayContaining([
        { op: 'startswith', value: 'Get', cased: false },
        { op: 'endswith', value: 'Policy', cased: false },
      ]),
    );
    expect(get(10).eventNames).toEqual([{ op: 'equals', value: 'ListBuckets', cased: true }]);
    expect(get(6).literals).toEqual(['HIDDEN_DUE_TO_SECURITY_REASONS', 'TruffleHog']);
  });
});
