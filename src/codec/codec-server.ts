import { type Server, createServer } from 'node:http';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { ExternalStorage } from '@temporalio/common/lib/converter/extstore';
import { ExternalStorageRunner } from '@temporalio/common/lib/internal-non-workflow';

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});

const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')])),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

/**
 * Temporal's remote codec protocol (POST /encode and /decode with {"payloads":[...]}), so the Web UI
 * and `temporal` CLI can show encrypted payloads to someone who can reach this server. Bind it where
 * only key holders can reach it.
 */
export function startCodecServer(
  codec: PayloadCodec | undefined,
  options: { port: number; host?: string; corsOrigins?: string[]; externalStorage?: ExternalStorage },
): Promise<Server> {
  // with External Storage, /decode first fetches offloaded payloads (a history holds only their claims)
  const runner = options.externalStorage ? new ExternalStorageRunner(options.externalStorage) : undefined;
  const decode = async (payloads: Payload[]) => {
    const fetched = runner ? await runner.retrieve(payloads) : payloads;
    return codec ? codec.decode(fetched) : fetched;
  };
  const encode = async (payloads: Payload[]) => (codec ? codec.encode(payloads) : payloads);
  const server = createServer((req, res) => {
    const origin = req.headers.origin;
    if (origin && options.corsOrigins?.includes(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'content-type, x-namespace, authorization');
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204).end();
      return;
    }
    const route = req.url?.split('?')[0];
    if (req.method !== 'POST' || (route !== '/encode' && route !== '/decode')) {
      res.writeHead(404).end();
      return;
    }
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', async () => {
      try {
        const payloads = ((JSON.parse(body) as { payloads?: JsonPayload[] }).payloads ?? []).map(fromJson);
        const out = route === '/encode' ? await encode(payloads) : await decode(payloads);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ payloads: out.map(toJson) }));
      } catch (error) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end((error as Error).message);
      }
    });
  });
  return new Promise((resolve) => server.listen(options.port, options.host ?? '127.0.0.1', () => resolve(server)));
}
