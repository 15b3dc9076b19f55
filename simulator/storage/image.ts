/**
 * The on-disk image of simulated storage: flash partitions and key-value stores in one file.
 *
 * Layout: "SIMSTOR1" (8 bytes ASCII) | u32 LE manifest length | manifest (UTF-8 JSON) | partition bytes
 * concatenated in manifest order. The manifest: { version: 1, partitions: [{name, size, blockLength}],
 * keyValue: { [namespace]: { [key]: value } } }.
 */
import { readFileSync, writeFileSync, renameSync } from "node:fs";

export interface PartitionImage {
  size: number;
  blockLength: number;
  data: Uint8Array;
}

export interface StorageImage {
  partitions: Record<string, PartitionImage>;
  keyValue: Record<string, Record<string, string>>;
}

const MAGIC = "SIMSTOR1";

export function encodeImage(image: StorageImage): Uint8Array {
  const names = Object.keys(image.partitions);
  const manifest = {
    version: 1,
    partitions: names.map((name) => ({ name, size: image.partitions[name].size, blockLength: image.partitions[name].blockLength })),
    keyValue: image.keyValue,
  };
  const json = Buffer.from(JSON.stringify(manifest), "utf8");
  let total = 12 + json.length;
  for (const n of names) total += image.partitions[n].size;
  const out = Buffer.alloc(total);
  out.write(MAGIC, 0, "latin1");
  out.writeUInt32LE(json.length, 8);
  json.copy(out, 12);
  let pos = 12 + json.length;
  for (const n of names) {
    out.set(image.partitions[n].data, pos);
    pos += image.partitions[n].size;
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

export function decodeImage(bytes: Uint8Array): StorageImage {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 12 || buf.toString("latin1", 0, 8) !== MAGIC) throw new Error("storage image: bad magic");
  const jlen = buf.readUInt32LE(8);
  if (12 + jlen > buf.length) throw new Error("storage image: truncated manifest");
  const manifest = JSON.parse(buf.toString("utf8", 12, 12 + jlen)) as {
    version: number;
    partitions: Array<{ name: string; size: number; blockLength: number }>;
    keyValue: Record<string, Record<string, string>>;
  };
  if (manifest.version !== 1 || !Array.isArray(manifest.partitions)) throw new Error("storage image: unsupported manifest");
  const partitions: Record<string, PartitionImage> = {};
  let pos = 12 + jlen;
  for (const p of manifest.partitions) {
    if (pos + p.size > buf.length) throw new Error(`storage image: partition ${p.name} truncated`);
    partitions[p.name] = { size: p.size, blockLength: p.blockLength, data: new Uint8Array(buf.subarray(pos, pos + p.size)) };
    pos += p.size;
  }
  const keyValue: Record<string, Record<string, string>> = {};
  for (const [ns, kv] of Object.entries(manifest.keyValue ?? {})) {
    keyValue[ns] = {};
    for (const [k, v] of Object.entries(kv)) if (typeof v === "string") keyValue[ns][k] = v;
  }
  return { partitions, keyValue };
}

export function saveImageFile(path: string, image: StorageImage): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, encodeImage(image));
  renameSync(tmp, path);
}

export function loadImageFile(path: string): StorageImage {
  return decodeImage(new Uint8Array(readFileSync(path)));
}
