'use strict';
/**
 * Whole CloudTrail records from the Sigma pack's rule fixtures (test/sigma/fixtures/rules/<id>.json:
 * for each of the 57 rules, records that match it and near misses, written with the fields the rule
 * reads, dotted keys as Sigma field paths). Used by the Sigma CLI test and `npm run bench -- --sigma`.
 */
const { readFileSync, readdirSync } = require('node:fs');
const { join } = require('node:path');

const FIXTURES = join(__dirname, '..', '..', 'test', 'sigma', 'fixtures', 'rules');

const isObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value);

function merged(base, over) {
  const out = { ...base };
  for (const [key, value] of Object.entries(over)) out[key] = isObject(value) && isObject(base[key]) ? merged(base[key], value) : value;
  return out;
}

/** Dotted keys (Sigma field paths) as nested objects. */
function nested(fields) {
  let out = {};
  for (const [key, value] of Object.entries(fields)) {
    const leaf = key.split('.').reduceRight((inner, part) => ({ [part]: inner }), isObject(value) ? nested(value) : value);
    out = merged(out, leaf);
  }
  return out;
}

/** The fixtures, by rule id order: { id, rule (file), author, matches, misses }. */
function ruleFixtures() {
  return readdirSync(FIXTURES)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')));
}

/** A fixture's fields in a whole record at `ms` with `eventID` (the fixture's own fields win, but for these two). */
function wholeRecord(fields, { ms, eventID, account = '111122223333', region = 'us-east-1' }) {
  const base = {
    eventVersion: '1.08',
    userIdentity: { type: 'IAMUser', principalId: 'AIDAEXAMPLE', arn: `arn:aws:iam::${account}:user/tester`, accountId: account, userName: 'tester' },
    eventTime: new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: 'ec2.amazonaws.com',
    eventName: 'DescribeRegions',
    awsRegion: region,
    sourceIPAddress: '198.51.100.20',
    userAgent: 'aws-cli/2.15.30',
    requestParameters: null,
    responseElements: null,
    eventType: 'AwsApiCall',
    recipientAccountId: account,
  };
  return { ...merged(base, nested(fields)), eventTime: base.eventTime, eventID };
}

module.exports = { FIXTURES, ruleFixtures, wholeRecord };
