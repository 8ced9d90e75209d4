import { type IncomingMessage, type ServerResponse, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = 'slowdown' | 'internal-error' | 'reset-mid-body' | undefined;

export interface FaultProxy {
  endpoint: string;
  /** how many requests got each fault */
  injected: Record<string, number>;
  requests: number;
  /** the path of every GetObject, in order */
  getObjects: string[];
  close(): Promise<void>;
}

const S3_ERRORS = {
  slowdown: { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' },
  'internal-error': { status: 500, code: 'InternalError', message: 'We encountered an internal error. Please try again.' },
};

/**
 * An HTTP proxy in front of an S3 API (moto) that answers some GetObject requests with S3's 503
 * SlowDown or 500 InternalError, or cuts the connection after half of the object's body.
 */
export async function startFaultProxy(target: string, decide: (getObjectIndex: number, path: string) => Fault, delayMs = 0): Promise<FaultProxy> {
  const upstream = new URL(target);
  let getObjects = 0;
  const proxy: FaultProxy = { endpoint: '', injected: {}, requests: 0, getObjects: [], close: async () => undefined };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    proxy.requests++;
    const path = req.url ?? '/';
    const isGetObject = req.method === 'GET' && /^\/[^/?]+\/[^?]+/.test(path) && !path.includes('list-type');
    const fault = isGetObject ? decide(getObjects++, path) : undefined;
    if (fault) proxy.injected[fault] = (proxy.injected[fault] ?? 0) + 1;
    if (isGetObject) proxy.getObjects.push(path);
    if (delayMs && isGetObject) {
      req.pause();
      setTimeout(() => handle(fault, path, req, res), delayMs);
      return;
    }
    handle(fault, path, req, res);
  });
  const handle = (fault: Fault, path: string, req: IncomingMessage, res: ServerResponse) => {
    if (fault === 'slowdown' || fault === 'internal-error') {
      const error = S3_ERRORS[fault];
      req.resume();
      res.writeHead(error.status, { 'content-type': 'application/xml' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${error.code}</Code><Message>${error.message}</Message></Error>`);
      return;
    }
    const forward = request({ host: upstream.hostname, port: upstream.port, method: req.method, path, headers: req.headers }, (answer) => {
      if (fault !== 'reset-mid-body') {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.on('end', () => {
        const body = Buffer.concat(chunks);
        res.writeHead(answer.statusCode ?? 200, answer.headers);
        res.write(body.subarray(0, Math.floor(body.length / 2)));
        setTimeout(() => res.socket?.destroy(), 20);
      });
    });
    forward.on('error', () => res.destroy());
    req.pipe(forward);
    req.resume();
  };
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return proxy;
}
