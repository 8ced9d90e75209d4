'use strict';
/**
 * Stage (d): DuckDB over the same *.json.gz files, the same two detections in SQL
 * (docs/rules.md, default options), on every core.
 * Child process: node duckdb.js '{"dir":…,"date":"YYYY-MM-DD","threads":N}'
 */
const os = require('node:os');
const { RULE1, RULE2, report, scanPeriod } = require('./common');

// Only the fields the rules read; read_json ignores the others.
const RECORD = `STRUCT(
  eventID VARCHAR, eventTime VARCHAR, eventSource VARCHAR, eventName VARCHAR,
  errorCode VARCHAR, errorMessage VARCHAR, recipientAccountId VARCHAR,
  userIdentity STRUCT(type VARCHAR, userName VARCHAR, arn VARCHAR, principalId VARCHAR, invokedBy VARCHAR, accountId VARCHAR),
  requestParameters STRUCT(parameters JSON, outputS3BucketName VARCHAR, outputLocation JSON, bucketName VARCHAR),
  resources STRUCT(accountId VARCHAR)[]
)[]`;

const nonEmpty = (x) => `coalesce(${x}, '') <> ''`;

function sql(glob, { startMs, endMs }) {
  const start = startMs / 1000;
  const end = endMs / 1000;
  return `
CREATE TEMP TABLE candidates AS
WITH records AS (
  SELECT unnest(Records) AS r
  FROM read_json('${glob}', format = 'unstructured', columns = {Records: '${RECORD.replace(/\s+/g, ' ')}'}, maximum_object_size = 1073741824)
)
SELECT * FROM (SELECT
  r.eventID AS eventID,
  epoch(try_strptime(r.eventTime, '%Y-%m-%dT%H:%M:%SZ'))::BIGINT AS ts,
  r.eventName AS eventName,
  contains('AWS-CloudTrail-' || upper(CASE WHEN strpos(coalesce(r.eventSource, ''), '.amazonaws.com') > 0
      THEN left(r.eventSource, strpos(r.eventSource, '.amazonaws.com') - 1) ELSE coalesce(r.eventSource, '') END)
    || '-' || coalesce(r.eventName, ''), 'AWS-CloudTrail-SSM-SendCommand') AS rule1,
  NOT (${nonEmpty('r.errorCode')} OR ${nonEmpty('r.errorMessage')}) AS succeeded,
  CASE WHEN ${nonEmpty('r.recipientAccountId')} THEN r.recipientAccountId ELSE coalesce(r.userIdentity.accountId, '') END AS accountId,
  CASE WHEN ${nonEmpty('r.userIdentity.userName')} THEN r.userIdentity.userName
       WHEN ${nonEmpty('r.userIdentity.arn')} THEN regexp_extract(r.userIdentity.arn, '[^/]*$')
       WHEN ${nonEmpty('r.userIdentity.principalId')} THEN r.userIdentity.principalId
       ELSE coalesce(r.userIdentity.invokedBy, '') END AS "user",
  -- str(parameters) is "" only when absent, null or the empty string
  r.requestParameters.parameters IS NOT NULL AND r.requestParameters.parameters::VARCHAR NOT IN ('null', '""') AS hasParameters,
  CASE WHEN ${nonEmpty('r.requestParameters.outputS3BucketName')} THEN r.requestParameters.outputS3BucketName
       ELSE coalesce(json_extract_string(r.requestParameters.outputLocation, '$.s3Location.outputS3BucketName'), '') END AS outputBucket,
  coalesce(r.requestParameters.bucketName, '') AS putBucket,
  len(list_filter(r.resources, e -> ${nonEmpty('e.accountId')} AND e.accountId <> coalesce(r.recipientAccountId, ''))) > 0 AS foreign
FROM records)
WHERE rule1 OR eventName IN ('SendCommand', 'CreateAssociation', 'PutObject');

-- well formed (eventID, parsable eventTime), one copy per eventID, in the scan period
CREATE TEMP TABLE events AS
SELECT * FROM candidates
WHERE ${nonEmpty('eventID')} AND ts IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY eventID ORDER BY ts) = 1;

SELECT '${RULE1}' AS rule, accountId || '|' || "user" || '|' || (ts // 300 * 300) AS key
FROM events WHERE rule1 AND ts >= ${start} AND ts < ${end}
GROUP BY accountId, "user", ts // 300 * 300
UNION ALL
SELECT DISTINCT '${RULE2}', c.eventID
FROM events c JOIN events p ON p.putBucket = c.outputBucket
WHERE c.eventName IN ('SendCommand', 'CreateAssociation') AND c.succeeded AND c.hasParameters AND c.outputBucket <> ''
  AND c.ts >= ${start} AND c.ts < ${end}
  AND p.eventName = 'PutObject' AND p.succeeded AND p.putBucket <> '' AND p.foreign AND p.ts >= ${start} AND p.ts < ${end};
`;
}

async function main() {
  const { dir, date, threads = os.availableParallelism() } = JSON.parse(process.argv[2]);
  const { DuckDBInstance } = require('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:', { threads: String(threads) });
  const connection = await db.connect();
  const started = process.hrtime.bigint();
  const statements = sql(`${dir}/**/*.json.gz`, scanPeriod(date))
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean);
  let rows = [];
  for (const statement of statements) rows = (await connection.runAndReadAll(statement)).getRows();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const keys = rows.map(([rule, key]) => `${rule} ${key}`).sort();
  const findingsByRule = { [RULE1]: keys.filter((k) => k.startsWith(RULE1)).length, [RULE2]: keys.filter((k) => k.startsWith(RULE2)).length };
  report({ seconds, threads, findingsByRule, keys });
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
