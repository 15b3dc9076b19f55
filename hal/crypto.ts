/**
 * Cryptography through the HAL: a secure element or the chip's accelerator on the device, Node crypto in
 * the simulator (with seeded randomness). Private keys never leave the HAL: they are referred to by name.
 */
import type { BufferLike } from "./common.js";

export interface Crypto {
  /** SHA-256 of the bytes. */
  sha256(data: BufferLike): ArrayBuffer;
  /**
   * ECDSA P-256 signature of SHA-256(message) with the named device key, created on first use.
   * Returns the raw 64-byte r||s form.
   */
  sign(keyName: string, message: BufferLike): ArrayBuffer;
  /** The named key's public key, uncompressed SEC1 (65 bytes, 0x04 || X || Y). */
  publicKey(keyName: string): ArrayBuffer;
  /** Verifies a raw r||s ECDSA P-256 / SHA-256 signature against an uncompressed SEC1 public key. */
  verify(publicKey: BufferLike, message: BufferLike, signature: BufferLike): boolean;
  /** Cryptographically strong random bytes (seeded and deterministic in the simulator). */
  randomBytes(byteLength: number): ArrayBuffer;
}
