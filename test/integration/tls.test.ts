import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { type Server, createServer } from 'node:tls';
import { buildSampleTrail } from '../../src/demo/sample-trail';
import { createWorker } from '../../src/workers/worker';
import { runCli, tempDir, writeConfig, writeFiles } from '../helpers/cli';
import { temporalAddress } from '../helpers/services';

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl. */
function makeCertificates(dir: string): void {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=trailwarden-test-ca');
  for (const [name, ext] of [
    ['server', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
    ['client', 'extendedKeyUsage=clientAuth'],
  ]) {
    run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    execFileSync('sh', ['-c', `printf '%s' '${ext}' > ${name}.ext`], { cwd: dir });
    run(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
    );
  }
}

/** Terminates mutual TLS (ALPN h2, as gRPC needs) and forwards the bytes to the plain dev server. */
function startMtlsProxy(dir: string, target: string): Promise<{ server: Server; address: string }> {
  const [host, port] = target.split(':');
  const server = createServer(
    {
      key: readFileSync(join(dir, 'server.key')),
      cert: readFileSync(join(dir, 'server.crt')),
      ca: readFileSync(join(dir, 'ca.crt')),
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
    },
    (socket) => {
      const upstream = connect(Number(port), host);
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    },
  );
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, address: `127.0.0.1:${(server.address() as { port: number }).port}` })),
  );
}

test('the CLI reaches Temporal over mutual TLS with the certificates given; without them it fails with a clear message', async () => {
  const dir = tempDir('tls');
  makeCertificates(dir);
  const proxy = await startMtlsProxy(dir, temporalAddress());
  writeFiles(join(dir, 'logs'), buildSampleTrail('2026-02-02'));
  const config = writeConfig(dir, {
    sources: [{ type: 'directory', path: './logs' }],
    findings: { directory: './findings' },
    incidents: { enabled: false },
    temporal: { tls: { clientCertPath: join(dir, 'client.crt'), clientKeyPath: join(dir, 'client.key'), serverCaCertPath: join(dir, 'ca.crt') } },
  });
  const taskQueue = `tls-${Date.now()}`;
  const { worker, connection } = await createWorker({ address: temporalAddress(), namespace: 'default', taskQueue });
  try {
    await worker.runUntil(async () => {
      const env = { TEMPORAL_ADDRESS: proxy.address, TRAILWARDEN_TASK_QUEUE: taskQueue };
      const scan = await runCli(['scan', '--config', config, '--date', '2026-02-02'], { env });
      expect(scan.stdout).toContain('6 finding(s)');
      expect(scan.code).toBe(0);
      const noCertificate = writeConfig(tempDir('tls-none'), {
        sources: [{ type: 'directory', path: join(dir, 'logs') }],
        temporal: { tls: { serverCaCertPath: join(dir, 'ca.crt') } },
      });
      const refused = await runCli(['scan', '--config', noCertificate, '--date', '2026-02-02'], { env });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`cannot reach Temporal at ${proxy.address}`);
      const halfPair = writeConfig(tempDir('tls-half'), {
        sources: [{ type: 'directory', path: '.' }],
        temporal: { tls: { clientCertPath: join(dir, 'client.crt') } },
      });
      const bad = await runCli(['scan', '--config', halfPair, '--date', '2026-02-02'], { env });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('mutual TLS needs both a client certificate and its key');
    });
  } finally {
    await connection.close();
    proxy.server.close();
  }
});
