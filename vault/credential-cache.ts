// Opened credentials kept in memory for a short, bounded time, so the read path (token, proxy) does not ask
// KMS to unwrap a data key on every request. An entry is used only while the envelope in Postgres is still
// the one it was opened from (the caller always reads the envelope first), so a refresh or rotation is seen
// on the very next read even before its change notice arrives; notices and the listener's `resync` drop
// entries early, so destroyed credentials do not linger in memory. Never logs or exposes what it holds.
import type { EventEmitter } from 'node:events';
import type { CredentialVault, SealedCredential } from './credential-vault.js';
import { canonicalContext, type EncryptionContext } from './encryption-context.js';

export interface CredentialCacheOptions {
  /** How long an opened credential is reused; default 60 s. */
  ttlMs?: number;
  /** How many opened credentials are held at most; the least recently used go first. Default 1000. */
  maxEntries?: number;
  now?: () => number;
}

interface Entry {
  connection: string | undefined;
  /** The envelope it was opened from: its IV and tag are unique per sealing. */
  fingerprint: string;
  plaintext: string;
  expiresAt: number;
}

const fingerprintOf = (sealed: SealedCredential) => `${sealed.keyId}|${sealed.iv}|${sealed.tag}`;

export class CredentialCache {
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(
    private readonly vault: CredentialVault,
    options: CredentialCacheOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 60_000;
    this.maxEntries = options.maxEntries ?? 1_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * Drops a connection's entries on each of its credential or status notices, and everything on `resync`
   * (the listener was deaf for a while). Returns a function that detaches.
   */
  follow(changes: EventEmitter): () => void {
    const onChange = (change: { connectionId: string }) => this.invalidate(change.connectionId);
    const onResync = () => this.clear();
    changes.on('change', onChange);
    changes.on('resync', onResync);
    return () => {
      changes.off('change', onChange);
      changes.off('resync', onResync);
    };
  }

  /** The plaintext of `sealed`, opened by the vault at most once per TTL while the envelope is unchanged. */
  async openText(context: EncryptionContext, sealed: SealedCredential): Promise<string> {
    const key = canonicalContext(context);
    const fingerprint = fingerprintOf(sealed);
    const entry = this.entries.get(key);
    const now = this.now();
    if (entry && entry.fingerprint === fingerprint && entry.expiresAt > now) {
      this.entries.delete(key);
      this.entries.set(key, entry);
      return entry.plaintext;
    }
    const plaintext = await this.vault.openText(context, sealed);
    this.entries.delete(key);
    this.entries.set(key, {
      connection: 'connection' in context ? context.connection : undefined,
      fingerprint,
      plaintext,
      expiresAt: now + this.ttlMs,
    });
    while (this.entries.size > this.maxEntries) {
      this.entries.delete(this.entries.keys().next().value!);
    }
    return plaintext;
  }

  invalidate(connectionId: string): void {
    for (const [key, entry] of this.entries) {
      if (entry.connection === connectionId) this.entries.delete(key);
    }
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
