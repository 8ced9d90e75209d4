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
      `trailwarden: search attributes ${missing.map((m) => m.name).join(', ')} are not registered in namespace ` +
        `${namespace}; runs will not carry them (see "Run history" in the README:\n` +
        missing.map((m) => `  temporal operator search-attribute create --namespace ${namespace} --name ${m.name} --type ${m.cliType}`).join('\n') +
        ')\n',
    );
  }
  return missing.length === 0;
}
