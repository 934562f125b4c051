// The secret values this process knows, so that every log line can be scrubbed of them wherever they appear
// (a message, an error's message or stack, a provider's answer): the process's own keys, and the credentials
// the vault seals and opens. They are held as keyed digests, never as values: a registry of every credential
// in clear for the life of the process would be a second copy worth stealing. Bounded: past the limit the
// oldest credentials are forgotten first, the process's own keys never.
//
// A scan costs one hash-map look-up per character of the text, however many secrets are known: a rolling
// hash of the last MIN_SECRET_LENGTH characters picks the few candidates worth a digest.
import { createHmac, randomBytes } from 'node:crypto';
import { isSecretKey } from './secret-keys.js';

/** Shorter values are not registered: scrubbing them would mangle ordinary words. */
export const MIN_SECRET_LENGTH = 12;
export const REDACTED = '[redacted]';

const WINDOW = MIN_SECRET_LENGTH;
const BASE = 0x01000193;
// BASE^(WINDOW-1) mod 2^32: what the character leaving the window contributed.
const LEAVING = Array.from({ length: WINDOW - 1 }).reduce<number>((power) => Math.imul(power, BASE), 1);

interface Entry {
  window: number;
  length: number;
  pinned: boolean;
}

export class KnownSecrets {
  private readonly key = randomBytes(32);
  /** digest → entry, oldest first. */
  private readonly entries = new Map<string, Entry>();
  /** rolling hash of a secret's last WINDOW characters → its length → digests. */
  private readonly candidates = new Map<number, Map<number, Set<string>>>();
  private credentials = 0;

  constructor(private readonly maxCredentials = 30_000) {}

  /**
   * Registers a secret value in the forms it takes in a log line: as a JSON string's content (what the
   * line holds; the value itself when nothing in it needs escaping) and URL-encoded. The raw form of a value
   * that needs escaping never appears in a line, and replacing it could cut an escape in two. `pinned`
   * values (the process's own keys) are never forgotten.
   */
  add(value: string, options: { pinned?: boolean } = {}): void {
    const forms = new Set([JSON.stringify(value).slice(1, -1), encodeURIComponent(value)]);
    for (const form of forms) if (form.length >= MIN_SECRET_LENGTH) this.insert(form, !!options.pinned);
  }

  /**
   * Registers what a sealed or opened credential holds: the values under secret names when it is a JSON
   * object (a token set), or the whole text (an API key, a client secret, a verifier, a code).
   */
  addCredential(plaintext: string): void {
    const text = plaintext.trim();
    if (text.startsWith('{')) {
      try {
        const values: string[] = [];
        collectSecretValues(JSON.parse(text), values, 0);
        for (const value of values) this.add(value);
        return;
      } catch {
        // not JSON after all: registered whole below
      }
    }
    this.add(plaintext);
  }

  /** The text with every known secret in it replaced by `[redacted]`. */
  scrub(text: string): string {
    if (text.length < WINDOW || this.candidates.size === 0) return text;
    let hash = 0;
    for (let i = 0; i < WINDOW; i++) hash = (Math.imul(hash, BASE) + text.charCodeAt(i)) | 0;
    let found: Array<[number, number]> | undefined;
    for (let end = WINDOW; ; end++) {
      const byLength = this.candidates.get(hash);
      if (byLength) {
        for (const [length, digests] of byLength) {
          const start = end - length;
          if (start >= 0 && digests.has(this.digest(text.slice(start, end)))) {
            (found ??= []).push([escapeStart(text, start), end]);
          }
        }
      }
      if (end === text.length) break;
      hash =
        (Math.imul(hash - Math.imul(text.charCodeAt(end - WINDOW), LEAVING), BASE) + text.charCodeAt(end)) |
        0;
    }
    return found ? replaceRanges(text, found) : text;
  }

  private insert(value: string, pinned: boolean): void {
    const digest = this.digest(value);
    const existing = this.entries.get(digest);
    if (existing) {
      if (existing.pinned || !pinned) {
        // Seen again: the most recently used credentials are the last to be forgotten.
        this.entries.delete(digest);
        this.entries.set(digest, existing);
        return;
      }
      this.forget(digest, existing);
    }
    const entry = { window: windowHash(value, value.length - WINDOW), length: value.length, pinned };
    this.entries.set(digest, entry);
    let byLength = this.candidates.get(entry.window);
    if (!byLength) this.candidates.set(entry.window, (byLength = new Map()));
    let digests = byLength.get(entry.length);
    if (!digests) byLength.set(entry.length, (digests = new Set()));
    digests.add(digest);
    if (!pinned && ++this.credentials > this.maxCredentials) {
      for (const [oldest, old] of this.entries) {
        if (!old.pinned) {
          this.forget(oldest, old);
          break;
        }
      }
    }
  }

  private forget(digest: string, entry: Entry): void {
    this.entries.delete(digest);
    if (!entry.pinned) this.credentials--;
    const byLength = this.candidates.get(entry.window);
    const digests = byLength?.get(entry.length);
    digests?.delete(digest);
    if (digests?.size === 0) byLength!.delete(entry.length);
    if (byLength?.size === 0) this.candidates.delete(entry.window);
  }

  private digest(value: string): string {
    return createHmac('sha256', this.key).update(value).digest('base64');
  }
}

function windowHash(text: string, start: number): number {
  let hash = 0;
  for (let i = start; i < start + WINDOW; i++) hash = (Math.imul(hash, BASE) + text.charCodeAt(i)) | 0;
  return hash;
}

/** A match that begins just after an escaping backslash takes the backslash too, so the line stays JSON. */
function escapeStart(text: string, start: number): number {
  let backslashes = 0;
  while (start - backslashes > 0 && text.charCodeAt(start - backslashes - 1) === 92) backslashes++;
  return backslashes % 2 === 1 ? start - 1 : start;
}

function collectSecretValues(value: unknown, into: string[], depth: number): void {
  if (depth > 8 || typeof value !== 'object' || value === null) return;
  for (const [key, child] of Object.entries(value)) {
    if (typeof child === 'string' && isSecretKey(key)) into.push(child);
    else collectSecretValues(child, into, depth + 1);
  }
}

function replaceRanges(text: string, ranges: Array<[number, number]>): string {
  ranges.sort((a, b) => a[0] - b[0]);
  let out = '';
  let at = 0;
  for (const [start, end] of ranges) {
    if (end <= at) continue;
    out += text.slice(at, Math.max(start, at)) + (start >= at ? REDACTED : '');
    at = end;
  }
  return out + text.slice(at);
}

/** The process's registry: what the logger scrubs, what the vault and the secret loaders register. */
export const knownSecrets = new KnownSecrets();
