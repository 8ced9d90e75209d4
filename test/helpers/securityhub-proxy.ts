import { type IncomingMessage, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SecurityHubProxy {
  endpoint: string;
  /** the number of findings in each BatchImportFindings call, in order */
  imports: number[];
  /** the next this-many imports report their first finding as failed (after moto imported it) */
  failNext: number;
  close(): Promise<void>;
}

function body(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream
      .on('data', (c: Buffer) => chunks.push(c))
      .on('end', () => resolve(Buffer.concat(chunks)))
      .on('error', reject);
  });
}

/**
 * A proxy in front of moto's Security Hub (and STS) that records every BatchImportFindings call and can
 * make one report a failed finding, as Security Hub does when it refuses some of a batch.
 */
export async function startSecurityHubProxy(target: string): Promise<SecurityHubProxy> {
  const upstream = new URL(target);
  const proxy: SecurityHubProxy = { endpoint: '', imports: [], failNext: 0, close: async () => undefined };
  const server = createServer(async (req, res) => {
    const sent = await body(req);
    const isImport = req.method === 'POST' && req.url === '/findings/import';
    if (isImport) proxy.imports.push((JSON.parse(sent.toString()) as { Findings: unknown[] }).Findings.length);
    const forward = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, async (answer) => {
      let received = await body(answer);
      const headers = { ...answer.headers };
      if (isImport && proxy.failNext > 0 && answer.statusCode === 200) {
        proxy.failNext--;
        const result = JSON.parse(received.toString()) as { SuccessCount: number; FailedCount: number; FailedFindings: unknown[] };
        const first = (JSON.parse(sent.toString()) as { Findings: { Id: string }[] }).Findings[0];
        received = Buffer.from(
          JSON.stringify({
            SuccessCount: result.SuccessCount - 1,
            FailedCount: result.FailedCount + 1,
            FailedFindings: [{ Id: first.Id, ErrorCode: 'InternalException', ErrorMessage: 'injected by the test' }],
          }),
        );
        headers['content-length'] = String(received.length);
      }
      res.writeHead(answer.statusCode ?? 502, headers);
      res.end(received);
    });
    forward.on('error', (error) => {
      res.writeHead(502);
      res.end(error.message);
    });
    forward.end(sent);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return proxy;
}
