import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type Payload, type PayloadCodec, ValueError } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

const ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface CodecKeys {
  /** the key id new payloads are encrypted with */
  active: string;
  /** every key id that may still be found in histories, id -> 32-byte key */
  keys: Map<string, Buffer>;
}

/**
 * AES-256-GCM over whole payloads: CloudTrail records, findings and notification bodies stay
 * encrypted in Temporal's history and visible only to holders of a key. Each payload names its key,
 * so rotation is adding a key, making it active, and keeping the old one for reading.
 */
export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly keys: CodecKeys) {
    if (!keys.keys.has(keys.active)) throw new Error(`the active codec key "${keys.active}" is not among the keys`);
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const key = this.keys.keys.get(this.keys.active)!;
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return { metadata: { encoding: Buffer.from(ENCODING), [KEY_ID]: Buffer.from(this.keys.active) }, data };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (Buffer.from(payload.metadata?.encoding ?? []).toString() !== ENCODING) return payload;
      const id = Buffer.from(payload.metadata?.[KEY_ID] ?? []).toString();
      const key = this.keys.keys.get(id);
      if (!key) throw new ValueError(`no codec key "${id}" to decrypt this payload`);
      const data = Buffer.from(payload.data ?? []);
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}

function parseKey(id: string, base64: string): Buffer {
  const key = Buffer.from(base64, 'base64');
  if (key.length !== 32) throw new Error(`codec key "${id}" must be 32 bytes, base64-encoded (got ${key.length} bytes)`);
  return key;
}

/**
 * Keys from $TRAILWARDEN_CODEC_KEYS ("id1:base64,id2:base64", the first is active) or from the JSON
 * file $TRAILWARDEN_CODEC_KEY_FILE ({"active":"id","keys":{"id":"base64"}}). None: no encryption.
 */
export function codecKeysFromEnvironment(env: NodeJS.ProcessEnv = process.env): CodecKeys | undefined {
  if (env.TRAILWARDEN_CODEC_KEY_FILE) {
    const file = JSON.parse(readFileSync(env.TRAILWARDEN_CODEC_KEY_FILE, 'utf8')) as { active: string; keys: Record<string, string> };
    return { active: file.active, keys: new Map(Object.entries(file.keys).map(([id, k]) => [id, parseKey(id, k)])) };
  }
  if (!env.TRAILWARDEN_CODEC_KEYS) return undefined;
  const entries = env.TRAILWARDEN_CODEC_KEYS.split(',').map((entry) => {
    const at = entry.indexOf(':');
    if (at < 1) throw new Error('TRAILWARDEN_CODEC_KEYS must be "id:base64key[,id:base64key...]"');
    return [entry.slice(0, at).trim(), parseKey(entry.slice(0, at).trim(), entry.slice(at + 1).trim())] as const;
  });
  return { active: entries[0][0], keys: new Map(entries) };
}

/** The data converter option for clients and workers: encryption when keys are configured. */
export function dataConverterFromEnvironment(): { payloadCodecs: PayloadCodec[] } | undefined {
  const keys = codecKeysFromEnvironment();
  return keys ? { payloadCodecs: [new EncryptionCodec(keys)] } : undefined;
}
