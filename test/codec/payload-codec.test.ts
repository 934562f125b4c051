// The codec on its own: round trip of what the default payload converter produces, ciphertext that holds
// nothing readable, clear errors for a wrong or unknown key, and decoding under a rotated key.
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { randomBytes } from 'node:crypto';
import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { codecKeyId, loadCodecKey } from '../../temporal/codec-key.js';
import { AesGcmPayloadCodec, PayloadDecryptionError } from '../../temporal/payload-codec.js';

const newKey = () => {
  const key = randomBytes(32);
  return { id: codecKeyId(key), key };
};
const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? new Uint8Array()).toString();

describe('AesGcmPayloadCodec', () => {
  const secret = `ya29.${randomBytes(12).toString('hex')}`;
  const values = [
    secret,
    { accessToken: secret, expiresIn: 3600 },
    undefined,
    null,
    new Uint8Array([1, 2, 3]),
  ];

  it('round-trips every kind of payload and leaves nothing of the plaintext in the ciphertext', async () => {
    const key = newKey();
    const codec = new AesGcmPayloadCodec(key);
    const payloads = values.map((value) => defaultPayloadConverter.toPayload(value));
    const encoded = await codec.encode(payloads);

    expect(encoded).toHaveLength(payloads.length);
    for (const payload of encoded) {
      expect(Object.keys(payload.metadata ?? {}).sort()).toEqual(['encoding', 'encryption-key-id']);
      expect(text(payload.metadata?.encoding)).toBe('binary/encrypted');
      expect(text(payload.metadata?.['encryption-key-id'])).toBe(key.id);
      const data = Buffer.from(payload.data!);
      expect(data.toString('latin1')).not.toContain(secret);
      expect(data.toString('base64')).not.toContain(Buffer.from(secret).toString('base64').slice(0, 16));
      expect(data.toString('latin1')).not.toContain('json/plain');
    }
    // A fresh IV each time: the same value never gives the same ciphertext.
    const again = await codec.encode(payloads);
    expect(Buffer.from(again[0]!.data!).equals(Buffer.from(encoded[0]!.data!))).toBe(false);

    const decoded = await codec.decode(encoded);
    expect(decoded.map((payload) => defaultPayloadConverter.fromPayload(payload))).toEqual(values);
  });

  it('passes payloads that are not encrypted through unchanged', async () => {
    const plain = defaultPayloadConverter.toPayload({ status: 'active' });
    const [decoded] = await new AesGcmPayloadCodec(newKey()).decode([plain]);
    expect(decoded).toBe(plain);
  });

  it('refuses a payload under another key, under an unknown key id, or altered', async () => {
    const key = newKey();
    const [encoded] = await new AesGcmPayloadCodec(key).encode([defaultPayloadConverter.toPayload(secret)]);

    const impostor: Payload = encoded!;
    const sameIdOtherKey = new AesGcmPayloadCodec({ id: key.id, key: randomBytes(32) });
    await expect(sameIdOtherKey.decode([impostor])).rejects.toThrow(PayloadDecryptionError);
    await expect(sameIdOtherKey.decode([impostor])).rejects.toThrow(
      `encrypted payload failed authentication with codec key ${key.id}`,
    );

    const other = newKey();
    await expect(new AesGcmPayloadCodec(other).decode([encoded!])).rejects.toThrow(
      `payload encrypted with unknown codec key ${key.id}`,
    );

    const tampered = Buffer.from(encoded!.data!);
    tampered[tampered.length - 1]! ^= 1;
    await expect(new AesGcmPayloadCodec(key).decode([{ ...encoded, data: tampered }])).rejects.toThrow(
      /failed authentication/,
    );
    await expect(
      new AesGcmPayloadCodec(key).decode([{ ...encoded, data: tampered.subarray(0, 10) }]),
    ).rejects.toThrow(/truncated/);
    // No error ever carries the plaintext or the key.
    const error = await new AesGcmPayloadCodec(other).decode([encoded!]).catch((e: Error) => e);
    expect(String((error as Error).message)).not.toContain(secret);
  });

  it('decodes what an older key encrypted after a rotation, and encrypts only with the current key', async () => {
    const old = newKey();
    const current = newKey();
    const [before] = await new AesGcmPayloadCodec(old).encode([defaultPayloadConverter.toPayload(secret)]);

    const rotated = new AesGcmPayloadCodec(current, [old]);
    const [decoded] = await rotated.decode([before!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toBe(secret);
    const [after] = await rotated.encode([defaultPayloadConverter.toPayload(secret)]);
    expect(text(after!.metadata?.['encryption-key-id'])).toBe(current.id);
  });

  it('refuses a key that is not 256 bits, or two keys under one id', () => {
    expect(() => new AesGcmPayloadCodec({ id: 'short', key: randomBytes(16) })).toThrow(
      'codec key short is not a 256-bit key',
    );
    const key = newKey();
    expect(() => new AesGcmPayloadCodec(key, [{ id: key.id, key: randomBytes(32) }])).toThrow(
      `two different codec keys share the id ${key.id}`,
    );
  });
});

describe('loadCodecKey', () => {
  it('takes TEMPORAL_CODEC_KEY when it is the base64 of 32 bytes, and names it when it is not', async () => {
    const key = randomBytes(32);
    await expect(loadCodecKey({ key: key.toString('base64') })).resolves.toEqual({
      id: codecKeyId(key),
      key,
    });
    expect(codecKeyId(key)).toMatch(/^[0-9a-f]{8}$/);
    await expect(loadCodecKey({ key: randomBytes(16).toString('base64') })).rejects.toThrow(
      /TEMPORAL_CODEC_KEY must be the base64 of 32 bytes/,
    );
  });

  it('creates the key file once with mode 0600, and every process starting together gets the same key', async () => {
    const file = path.join(await mkdtemp(path.join(tmpdir(), 'codec-key-')), 'data', 'temporal-codec.key');
    const loaded = await Promise.all(Array.from({ length: 5 }, () => loadCodecKey({ file })));
    expect(new Set(loaded.map(({ id }) => id)).size).toBe(1);
    expect(loaded[0]!.key).toHaveLength(32);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    await expect(loadCodecKey({ file })).resolves.toEqual(loaded[0]);
  });
});
