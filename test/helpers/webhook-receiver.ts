import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedAttempt {
  key: string;
  signature?: string;
  body: string;
  status: number;
  at: number;
}

export interface WebhookReceiver {
  url: string;
  attempts: ReceivedAttempt[];
  /** accepted deliveries, once per Idempotency-Key (a repeated key is answered 200 and not counted) */
  accepted: Map<string, string>;
  /** changes the answer for later attempts */
  answer: (fn: (attemptOfKey: number, key: string) => number) => void;
  close(): Promise<void>;
}

/** A local webhook endpoint that answers per attempt as told, and accepts each Idempotency-Key once. */
export async function startWebhookReceiver(answer: (attemptOfKey: number, key: string) => number = () => 200): Promise<WebhookReceiver> {
  let decide = answer;
  const attempts: ReceivedAttempt[] = [];
  const accepted = new Map<string, string>();
  const perKey = new Map<string, number>();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const key = String(req.headers['idempotency-key'] ?? '');
      const attempt = (perKey.get(key) ?? 0) + 1;
      perKey.set(key, attempt);
      const status = accepted.has(key) ? 200 : decide(attempt, key);
      if (status >= 200 && status < 300 && !accepted.has(key)) accepted.set(key, body);
      attempts.push({ key, signature: req.headers['x-trailwarden-signature'] as string | undefined, body, status, at: Date.now() });
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status < 300 ? 'ok' : 'try later');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    attempts,
    accepted,
    answer: (fn) => {
      decide = fn;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}
