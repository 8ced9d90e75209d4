import { DefaultLogger, Runtime } from '@temporalio/worker';

// Workers started inside tests log warnings and errors only.
try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // already installed in this process
}
