import type { ChildProcess } from 'node:child_process';
import type { DevServer } from '../../src/local/dev-server';

export default async function globalTeardown(): Promise<void> {
  const services = (globalThis as Record<string, unknown>).__TW_SERVICES__ as { temporal: DevServer; moto: ChildProcess } | undefined;
  if (!services) return;
  services.moto.kill('SIGTERM');
  await services.temporal.stop();
}
