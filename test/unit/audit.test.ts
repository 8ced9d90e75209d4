import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * scripts/audit.js's decision on what `npm audit --omit=dev --json` gave. The samples in test/fixtures/npm-audit/
 * are npm 11's own stdout (and stderr) for this repository's lockfile:
 * - clean, high-prod, moderate-only: against a stub of the registry's bulk advisory endpoint serving invented
 *   advisories (ids and titles are made up): a high one for protobufjs (production), a moderate one for
 *   commander (production, through @temporalio/worker > webpack > terser), a high one for minimatch (a dev
 *   dependency only: --omit=dev never asks about it, so "clean" had it on offer);
 * - endpoint-405: the public registry's answer from this workplace; econnrefused: a registry on a closed port;
 * - enolock: a project without a lockfile (not an endpoint problem).
 */
interface Decision {
  outcome: 'clean' | 'vulnerable' | 'unavailable' | 'error';
  exitCode: number;
  lines: string[];
}
const { decideAudit } = require('../../scripts/audit.js') as {
  decideAudit(input: { stdout: string; stderr?: string; status: number | null; required?: boolean }): Decision;
};

const FIXTURES = join(__dirname, '..', 'fixtures', 'npm-audit');
const stdoutOf = (name: string) => readFileSync(join(FIXTURES, `${name}.json`), 'utf8');
const stderrOf = (name: string) => readFileSync(join(FIXTURES, `${name}.stderr`), 'utf8');

describe('scripts/audit.js: what npm audit --omit=dev said, and the exit code CI gets', () => {
  test('a clean report passes', () => {
    const decision = decideAudit({ stdout: stdoutOf('clean'), stderr: '', status: 0 });
    expect(decision.outcome).toBe('clean');
    expect(decision.exitCode).toBe(0);
    expect(decision.lines[0]).toBe('npm audit --omit=dev: 0 advisory(ies) in 183 production dependencies');
  });

  test('a high advisory in a production dependency fails, naming it, with a table by severity', () => {
    const decision = decideAudit({ stdout: stdoutOf('high-prod'), stderr: '', status: 1 });
    expect(decision.outcome).toBe('vulnerable');
    expect(decision.exitCode).toBe(1);
    const text = decision.lines.join('\n');
    expect(text).toMatch(/^npm audit --omit=dev: 2 advisory\(ies\) in 183 production dependencies$/m);
    // advisories (each once) and vulnerable packages, counting those vulnerable through a dependency
    expect(text).toMatch(/^ {2}critical +0 +0$/m);
    expect(text).toMatch(/^ {2}high +1 +12$/m);
    expect(text).toMatch(/^ {2}moderate +1 +4$/m);
    expect(text).toMatch(/^ {2}high +GHSA-7x2f-q4vm-9c3h +protobufjs +<7\.6\.7 \|\| >=8\.0\.0 <8\.8\.2 +protobufjs prototype pollution/m);
    expect(text).toMatch(/^ {2}moderate +GHSA-3q8w-h5p2-r6mx +commander /m);
    expect(decision.lines.at(-1)).toBe(
      'FAIL: high or critical advisories in production dependencies: GHSA-7x2f-q4vm-9c3h (high, protobufjs); 12 package(s) vulnerable with their dependents',
    );
  });

  test('a critical advisory fails too', () => {
    const report = JSON.parse(stdoutOf('moderate-only'));
    report.vulnerabilities.commander.severity = 'critical';
    report.vulnerabilities.commander.via[0].severity = 'critical';
    const decision = decideAudit({ stdout: JSON.stringify(report), status: 1 });
    expect(decision.exitCode).toBe(1);
    expect(decision.lines.at(-1)).toMatch(/^FAIL: .*GHSA-3q8w-h5p2-r6mx \(critical, commander\)/);
  });

  test('moderate advisories only: listed, and pass (npm itself exits 1 for them)', () => {
    const decision = decideAudit({ stdout: stdoutOf('moderate-only'), stderr: '', status: 1 });
    expect(decision.outcome).toBe('clean');
    expect(decision.exitCode).toBe(0);
    const text = decision.lines.join('\n');
    expect(text).toMatch(/^ {2}moderate +1 +6$/m);
    expect(text).toMatch(/^ {2}high +0 +0$/m);
    expect(text).toMatch(/GHSA-3q8w-h5p2-r6mx/);
    expect(decision.lines.at(-1)).toBe('OK: no high or critical advisory affects a production dependency');
  });

  test('the endpoint answering 405: one line saying why, exit 0; exit 1 when the audit is required', () => {
    const input = { stdout: stdoutOf('endpoint-405'), stderr: stderrOf('endpoint-405'), status: 1 };
    const soft = decideAudit(input);
    expect(soft).toEqual({
      outcome: 'unavailable',
      exitCode: 0,
      lines: [
        "npm audit could not run: the registry's audit endpoint did not give a report " +
          '(405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk); ' +
          'not failing (set TRAILWARDEN_AUDIT_REQUIRED=1 to fail)',
      ],
    });
    const required = decideAudit({ ...input, required: true });
    expect(required.outcome).toBe('unavailable');
    expect(required.exitCode).toBe(1);
    expect(required.lines).toHaveLength(1);
    expect(required.lines[0]).toMatch(/could not run: .*405 Method Not Allowed.*; failing because TRAILWARDEN_AUDIT_REQUIRED=1$/);
  });

  test("the endpoint unreachable (connection refused) is the same case, with npm's reason", () => {
    const decision = decideAudit({ stdout: stdoutOf('econnrefused'), stderr: stderrOf('econnrefused'), status: 1 });
    expect(decision.outcome).toBe('unavailable');
    expect(decision.exitCode).toBe(0);
    expect(decision.lines).toHaveLength(1);
    expect(decision.lines[0]).toMatch(/could not run: .*advisories\/bulk failed, reason: connect ECONNREFUSED 127\.0\.0\.1:9\)/);
    // either of npm's signals is enough: its stderr marker, or its JSON naming the endpoint
    expect(decideAudit({ stdout: '', stderr: stderrOf('econnrefused'), status: 1 }).outcome).toBe('unavailable');
    expect(decideAudit({ stdout: stdoutOf('econnrefused'), stderr: '', status: 1 }).outcome).toBe('unavailable');
  });

  test('other failures are not taken for an unreachable endpoint: they fail, even when the audit is not required', () => {
    const noLock = decideAudit({ stdout: stdoutOf('enolock'), stderr: stderrOf('enolock'), status: 1 });
    expect(noLock).toEqual({ outcome: 'error', exitCode: 1, lines: ['npm audit failed (exit 1): This command requires an existing lockfile.'] });
    expect(decideAudit({ stdout: '', stderr: 'Segmentation fault\n', status: 139 })).toEqual({
      outcome: 'error',
      exitCode: 1,
      lines: ['npm audit failed (exit 139): Segmentation fault'],
    });
    expect(decideAudit({ stdout: '{"auditReportVersion":1}', stderr: '', status: 0 }).exitCode).toBe(1);
  });
});
