// Test instrumentation for "no secret in Temporal": a vault that remembers every plaintext it seals (tokens,
// keys, verifiers, client secrets, codes), and a scan of workflow histories (raw, and with every payload
// decoded by the codec) for any of them.
import type { Client } from '@temporalio/client';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { CredentialVault, type EncryptionContext, type SealedCredential } from '../../vault/index.js';

export class RecordingVault extends CredentialVault {
  readonly secrets = new Set<string>();

  override async seal(context: EncryptionContext, plaintext: string | Buffer): Promise<SealedCredential> {
    const text = plaintext.toString();
    try {
      const parsed = JSON.parse(text) as Record<string, unknown>;
      for (const key of ['accessToken', 'refreshToken']) {
        if (typeof parsed[key] === 'string') this.secrets.add(parsed[key]);
      }
    } catch {
      this.secrets.add(text);
    }
    return super.seal(context, plaintext);
  }
}

function isPayload(value: unknown): value is Payload {
  return typeof value === 'object' && value !== null && 'metadata' in value && 'data' in value;
}

/** The secrets (by index, never by value) that appear in any run of any of the workflows. */
export async function secretsInHistories(
  client: Client,
  codec: PayloadCodec,
  query: string,
  secrets: Iterable<string>,
): Promise<{ workflows: number; found: number[] }> {
  const ids = new Set<string>();
  for await (const execution of client.workflow.list({ query }))
    ids.add(`${execution.workflowId} ${execution.runId}`);
  const parts: string[] = [];
  for (const entry of ids) {
    const [workflowId, runId] = entry.split(' ');
    parts.push(await historyTextOf(client, codec, workflowId!, runId!));
  }
  const text = parts.join('\n');
  const found = [...secrets].flatMap((secret, index) => (text.includes(secret) ? [index] : []));
  return { workflows: ids.size, found };
}

/** One run's history as text: raw bytes as UTF-8 and base64, and every payload decoded by the codec. */
async function historyTextOf(client: Client, codec: PayloadCodec, workflowId: string, runId: string) {
  const parts: string[] = [];
  const payloads: Payload[] = [];
  const walk = (value: unknown): void => {
    if (value instanceof Uint8Array) {
      parts.push(Buffer.from(value).toString('utf8'), Buffer.from(value).toString('base64'));
    } else if (Array.isArray(value)) value.forEach(walk);
    else if (typeof value === 'object' && value !== null) {
      if (isPayload(value)) payloads.push(value);
      for (const [key, child] of Object.entries(value)) {
        parts.push(key);
        walk(child);
      }
    } else if (value !== undefined && value !== null) parts.push(String(value));
  };
  walk(await client.workflow.getHandle(workflowId, runId).fetchHistory());
  for (const decoded of await codec.decode(payloads)) walk(decoded);
  return parts.join('\n');
}
