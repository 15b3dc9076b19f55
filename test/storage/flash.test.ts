import test from "ava";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PowerCutError, SimFlash } from "../../simulator/storage/flash.js";
import { SimStorage } from "../../simulator/storage/index.js";

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
const read = (f: { read(n: number, o: number): ArrayBuffer }, n: number, o: number): number[] => Array.from(new Uint8Array(f.read(n, o)));

test("fresh partition is erased; status; unknown partition throws", (t) => {
  const sim = new SimFlash({ partitions: { a: { size: 8192 }, b: { size: 1024, blockLength: 256 } } });
  const a = sim.open({ path: "a" });
  t.deepEqual(a.status(), { size: 8192, blockLength: 4096 });
  t.deepEqual(sim.open({ path: "b" }).status(), { size: 1024, blockLength: 256 });
  t.deepEqual(read(a, 4, 100), [255, 255, 255, 255]);
  t.throws(() => sim.open({ path: "nope" }));
  t.throws(() => new SimFlash({ partitions: { x: { size: 1000 } } }), { instanceOf: RangeError });
});

test("NOR semantics: write ANDs, erase sets 0xFF; accepts all BufferLike", (t) => {
  const sim = new SimFlash({ partitions: { a: { size: 8192 } } });
  const a = sim.open({ path: "a" });
  a.write(bytes(0xf0, 0x0f), 10);
  a.write(bytes(0x3c, 0xff), 10);
  t.deepEqual(read(a, 2, 10), [0x30, 0x0f]);
  a.write(new DataView(bytes(0, 0, 0x7f).buffer, 1, 2), 20);
  a.write(bytes(0xaa).buffer as ArrayBuffer, 22);
  t.deepEqual(read(a, 3, 20), [0, 0x7f, 0xaa]);
  a.eraseBlock(0);
  t.deepEqual(read(a, 3, 10), [255, 255, 255]);
  a.write(bytes(1), 4096);
  a.eraseBlock(0, 1);
  t.deepEqual(read(a, 1, 4096), [255]);
  t.is(sim.writes, 5);
  t.is(sim.bytesWritten, 2 + 2 + 2 + 1 + 1);
  t.is(sim.erases, 3);
  t.deepEqual(sim.wear("a"), [2, 1]);
  // read returns a copy
  const buf = new Uint8Array(a.read(4, 0));
  buf[0] = 0;
  t.deepEqual(read(a, 1, 0), [255]);
});

test("range checks throw RangeError; closed instance throws", (t) => {
  const sim = new SimFlash({ partitions: { a: { size: 4096 } } });
  const a = sim.open({ path: "a" });
  t.throws(() => a.read(2, 4095), { instanceOf: RangeError });
  t.throws(() => a.read(1, -1), { instanceOf: RangeError });
  t.throws(() => a.read(1, 0.5), { instanceOf: RangeError });
  t.throws(() => a.write(bytes(1, 2), 4095), { instanceOf: RangeError });
  t.throws(() => a.eraseBlock(1), { instanceOf: RangeError });
  t.throws(() => a.eraseBlock(0, -1), { instanceOf: RangeError });
  t.throws(() => a.write("x" as unknown as Uint8Array, 0), { instanceOf: TypeError });
  t.is(sim.countOps(), 0, "rejected calls are not operations");
  a.close();
  a.close();
  t.throws(() => a.read(1, 0), { message: /closed/ });
  t.throws(() => a.write(bytes(1), 0), { message: /closed/ });
});

test("power cut before / after / during a write", (t) => {
  for (const when of ["before", "after"] as const) {
    const sim = new SimFlash({ partitions: { a: { size: 4096 } } });
    let a = sim.open({ path: "a" });
    sim.powerCut({ op: 2, when });
    a.write(bytes(1), 0);
    t.throws(() => a.write(bytes(0, 0, 0), 8), { instanceOf: PowerCutError });
    t.true(sim.isPowerDown);
    t.throws(() => a.read(1, 0), { instanceOf: PowerCutError });
    t.throws(() => sim.open({ path: "a" }), { instanceOf: PowerCutError });
    sim.reboot();
    t.throws(() => a.read(1, 0), { message: /stale/ });
    a = sim.open({ path: "a" });
    t.deepEqual(read(a, 4, 8), when === "before" ? [255, 255, 255, 255] : [0, 0, 0, 255]);
    t.deepEqual(read(a, 1, 0), [1]);
  }
  const sim = new SimFlash({ partitions: { a: { size: 4096 } } });
  const a = sim.open({ path: "a" });
  sim.powerCut({ op: 1, when: "during", tornBytes: 2, tornBits: 0x0f });
  t.throws(() => a.write(bytes(0, 0, 0, 0), 0), { instanceOf: PowerCutError });
  sim.reboot();
  t.deepEqual(read(sim.open({ path: "a" }), 4, 0), [0, 0, 0xf0, 255]);
  t.is(sim.bytesWritten, 2);
});

test("power cut during an erase leaves the block partly erased", (t) => {
  const sim = new SimFlash({ partitions: { a: { size: 8192 } } });
  const a = sim.open({ path: "a" });
  a.write(new Uint8Array(8192), 0);
  sim.powerCut({ op: 1, when: "during", tornBytes: 4100 });
  t.throws(() => a.eraseBlock(0, 1), { instanceOf: PowerCutError });
  sim.reboot();
  const b = sim.open({ path: "a" });
  t.deepEqual(read(b, 2, 4098), [255, 255]);
  t.deepEqual(read(b, 2, 4100), [0, 0]);
});

test("torn length drawn from the seeded Rng is reproducible", (t) => {
  const run = (seed: number): number[] => {
    const sim = new SimFlash({ partitions: { a: { size: 4096 } }, seed });
    const a = sim.open({ path: "a" });
    sim.powerCut({ op: 1, when: "during" });
    t.throws(() => a.write(new Uint8Array(64), 0), { instanceOf: PowerCutError });
    sim.reboot();
    return read(sim.open({ path: "a" }), 64, 0);
  };
  t.deepEqual(run(5), run(5));
});

test("countOps enumerates cut points; the plan counts from now", (t) => {
  const sim = new SimFlash({ partitions: { a: { size: 8192 } } });
  const a = sim.open({ path: "a" });
  a.write(bytes(1), 0);
  a.eraseBlock(1);
  t.is(sim.countOps(), 2);
  sim.powerCut({ op: 1, when: "before" });
  t.throws(() => a.write(bytes(0), 1), { instanceOf: PowerCutError });
  t.is(sim.countOps(), 3);
  t.throws(() => sim.powerCut({ op: 0, when: "before" }), { instanceOf: RangeError });
});

test("a cut kills the key-value store too; snapshot/restore and file image round-trip", (t) => {
  const s = new SimStorage({ partitions: { j: { size: 8192 } }, seed: 3 });
  const f = s.storage.flash.open({ path: "j" });
  const kv = s.storage.keyValue.open({ path: "cfg" });
  kv.set("a", "1");
  f.write(bytes(0x12, 0x34), 100);
  const snap = s.snapshot();
  s.powerCut({ op: 1, when: "after" });
  t.throws(() => f.write(bytes(0), 0), { instanceOf: PowerCutError });
  t.throws(() => kv.get("a"), { instanceOf: PowerCutError });
  s.reboot();
  s.restore(snap);
  t.deepEqual(read(s.storage.flash.open({ path: "j" }), 3, 0), [255, 255, 255]);
  const dir = mkdtempSync(join(tmpdir(), "simstor-"));
  try {
    const path = join(dir, "image.bin");
    s.save(path);
    const s2 = SimStorage.load(path);
    t.deepEqual(read(s2.storage.flash.open({ path: "j" }), 2, 100), [0x12, 0x34]);
    t.is(s2.storage.keyValue.open({ path: "cfg" }).get("a"), "1");
    const fl = new SimFlash({ partitions: { p: { size: 4096, blockLength: 1024 } } });
    fl.open({ path: "p" }).write(bytes(7), 2000);
    fl.save(path);
    const fl2 = SimFlash.load(path);
    t.deepEqual(fl2.open({ path: "p" }).status(), { size: 4096, blockLength: 1024 });
    t.deepEqual(read(fl2.open({ path: "p" }), 1, 2000), [7]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
