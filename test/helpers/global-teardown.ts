import type { DevServer } from '../../src/local/dev-server';
import type { LocalS3 } from '../../src/local/moto';

export default async function globalTeardown(): Promise<void> {
  const services = (globalThis as Record<string, unknown>).__TW_SERVICES__ as { temporal: DevServer; moto: LocalS3 } | undefined;
  if (!services) return;
  services.moto.stop();
  await services.temporal.stop();
}
