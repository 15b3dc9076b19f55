/**
 * Network Identifier (NID) from the Network Membership Key (NMK), per HomePlug AV 1.1 (key derivation,
 * "NID derived from NMK"): PBKDF1 with SHA-256, no salt, 5 iterations (hash the NMK, then re-hash the
 * 32-byte digest four times); the NID is the leftmost 52 bits of the result followed by the 2-bit security
 * level in bits 4..5 of the seventh octet (bits 6..7 zero):
 *
 *   NID[0..5] = H[0..5];  NID[6] = (level << 4) | (H[6] >> 4)
 *
 * Known answers: NMK 50D3E4933F855B7040784DF815AA8DB7 (the NMK of the password "HomePlugAV") gives
 * NID B0F2E695666B03; NMK B59319D7E8157BA001B018669CCEE30D ("HomePlugAV0123") gives 026BCBA5354E08.
 * Security level 0 ("simple connect") is what SLAC uses (ISO 15118-3 does not use the secure level).
 */
import { NID_LEN, NMK_LEN } from "./messages.js";

export type Sha256 = (data: Uint8Array) => ArrayBuffer;

export function nidFromNmk(nmk: Uint8Array, sha256: Sha256, securityLevel = 0): Uint8Array {
  if (nmk.length !== NMK_LEN) throw new RangeError("NMK must be 16 bytes");
  if (!Number.isInteger(securityLevel) || securityLevel < 0 || securityLevel > 3) throw new RangeError("security level must be 0..3");
  let h = new Uint8Array(sha256(nmk));
  for (let i = 1; i < 5; i++) h = new Uint8Array(sha256(h));
  const nid = h.slice(0, NID_LEN);
  nid[6] = (securityLevel << 4) | (h[6]! >> 4);
  return nid;
}
