import type { Client } from '@temporalio/client';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

let warned = false;

/**
 * Whether the namespace has trailwarden's search attributes. Scans set them only then: setting an
 * unregistered attribute would fail every workflow task.
 */
export async function searchAttributesRegistered(client: Client, namespace: string): Promise<boolean> {
  let registered: Set<string>;
  try {
    const response = await client.connection.operatorService.listSearchAttributes({ namespace });
    registered = new Set(Object.keys(response.customAttributes ?? {}));
  } catch {
    registered = new Set();
  }
  const missing = CUSTOM_SEARCH_ATTRIBUTES.filter(({ name }) => !registered.has(name));
  if (missing.length && !warned) {
    warned = true;
    process.stderr.write(
      `trailwarden: warning: search attributes ${missing.map((m) => m.name).join(', ')} are not registered in namespace ` +
        `${namespace}, so runs will not carry them; register them with \`temporal operator search-attribute create\` ` +
        `(README, "Run history and the Web UI", lists the commands)\n`,
    );
  }
  return missing.length === 0;
}
