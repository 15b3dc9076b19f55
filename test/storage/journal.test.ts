import test from "ava";
import { Journal, JournalFullError } from "../../firmware/storage/journal.js";
import { encodeCbor } from "../../firmware/util/cbor.js";
import { Rng } from "../../simulator/rng.js";
import { PowerCutError, type PowerCutPlan } from "../../simulator/storage/index.js";
import { Model, PARTITION, newStorage, openJournal, payload, reopen, runOps, type Op } from "./journal-harness.js";

test("append / entries / remove / reopen", (t) => {
  const sim = newStorage(4, 1024);
  const { journal } = openJournal(sim);
  t.deepEqual(journal.entries(), []);
  const a = journal.append({ start: 1 }, "critical");
  const b = journal.append([1, 2, 3], "droppable");
  const c = journal.append("stop", "critical");
  t.true(a < b && b < c);
  journal.remove(b);
  journal.remove(b); // idempotent
  journal.remove(9999); // unknown: no-op
  t.deepEqual(journal.entries(), [
    { seq: a, cls: "critical", payload: { start: 1 } },
    { seq: c, cls: "critical", payload: "stop" },
  ]);
  t.is(journal.stats.records, 2);
  const again = openJournal(sim).journal;
  t.deepEqual(again.entries(), journal.entries());
  const d = again.append(null, "droppable");
  t.true(d > c, "seqs continue after reopen");
  t.throws(() => again.append(1, "other" as "critical"), { instanceOf: TypeError });
  t.throws(() => again.append("x".repeat(2000), "critical"), { instanceOf: RangeError });
  t.throws(() => again.append(() => 1, "critical"));
  t.deepEqual(again.seqs(), [a, c, d]);
});

test("update keeps seq and order; reopen sees the new payload", (t) => {
  const sim = newStorage(3, 512);
  const { journal } = openJournal(sim);
  const a = journal.append({ tx: null }, "critical");
  const b = journal.append({ mv: 1 }, "droppable");
  journal.update(a, { tx: 42 });
  t.deepEqual(journal.entries().map((e) => e.payload), [{ tx: 42 }, { mv: 1 }]);
  t.throws(() => journal.update(777, 1), { instanceOf: RangeError });
  const j2 = openJournal(sim).journal;
  t.deepEqual(j2.entries(), [
    { seq: a, cls: "critical", payload: { tx: 42 } },
    { seq: b, cls: "droppable", payload: { mv: 1 } },
  ]);
});

test("seqs stay monotonic and order survives many block wraps and reopens", (t) => {
  const sim = newStorage(3, 512);
  let journal = openJournal(sim).journal;
  const live: Array<[number, unknown]> = [];
  let lastSeq = 0;
  let reclaimed = 0;
  for (let i = 0; i < 400; i++) {
    const p = payload(i, i % 50);
    const seq = journal.append(p, i % 3 === 0 ? "critical" : "droppable");
    t.true(seq > lastSeq);
    lastSeq = seq;
    live.push([seq, p]);
    if (live.length > 4) journal.remove((live.shift() as [number, unknown])[0]);
    if (i % 37 === 0) {
      reclaimed += journal.stats.reclaimed;
      t.is(journal.stats.dropped, 0);
      journal = openJournal(sim).journal;
    }
  }
  reclaimed += journal.stats.reclaimed;
  journal = openJournal(sim).journal;
  t.deepEqual(journal.entries().map((e) => [e.seq, e.payload]), live);
  t.true(reclaimed > 20, `reclaimed ${reclaimed}`);
});

test("full: critical appends throw JournalFullError; droppables are dropped first, criticals never", (t) => {
  const sim = newStorage(3, 512);
  const { journal } = openJournal(sim);
  const crit: number[] = [];
  t.throws(() => {
    for (let i = 0; ; i++) crit.push(journal.append(payload(i, 40), "critical"));
  }, { instanceOf: JournalFullError });
  t.true(crit.length >= 8, `${crit.length} records`);
  t.is(journal.stats.dropped, 0);
  t.deepEqual(journal.seqs(), crit);
  // removing one makes room again
  journal.remove(crit[3]);
  crit.splice(3, 1);
  crit.push(journal.append(payload(99, 40), "critical"));
  t.deepEqual(openJournal(sim).journal.seqs(), crit);

  const sim2 = newStorage(4, 512);
  const j = openJournal(sim2).journal;
  const drop: number[] = [];
  for (let i = 0; i < 12; i++) drop.push(j.append(payload(i, 40), "droppable"));
  const critical: number[] = [];
  for (let i = 0; i < 100; i++) {
    try {
      critical.push(j.append(payload(100 + i, 40), "critical"));
    } catch (e) {
      t.true(e instanceof JournalFullError);
      break;
    }
  }
  t.true(j.stats.dropped > 0 && j.stats.dropped <= drop.length);
  const after = openJournal(sim2).journal;
  const seqs = new Set(after.seqs());
  for (const s of critical) t.true(seqs.has(s), `critical ${s} present`);
  t.is(after.stats.records, critical.length + drop.length - j.stats.dropped);
  // a droppable append when only criticals remain cannot be placed either
  t.throws(() => after.append(payload(1, 40), "droppable"), { instanceOf: JournalFullError });
});

/** A scripted sequence that fills blocks, wraps and reclaims on a 3 x 512-byte partition. */
function script(): Op[] {
  const ops: Op[] = [];
  let id = 0;
  const app = (cls: "critical" | "droppable", size: number): number => {
    ops.push({ kind: "append", id, cls, payload: payload(id, size) });
    return id++;
  };
  const a = app("critical", 30), b = app("droppable", 10), c = app("droppable", 60), d = app("critical", 5);
  ops.push({ kind: "remove", id: b });
  ops.push({ kind: "update", id: a, payload: { tx: 4711, started: true } });
  const e = app("droppable", 80), f = app("droppable", 20);
  ops.push({ kind: "remove", id: c });
  const g = app("critical", 40);
  ops.push({ kind: "remove", id: d }, { kind: "remove", id: e });
  const h = app("droppable", 90), i = app("droppable", 0), k = app("critical", 70);
  ops.push({ kind: "remove", id: f }, { kind: "remove", id: a });
  const l = app("droppable", 50);
  ops.push({ kind: "update", id: g, payload: payload(999, 100) });
  ops.push({ kind: "remove", id: h }, { kind: "remove", id: i });
  const m = app("critical", 10), n = app("droppable", 100);
  ops.push({ kind: "remove", id: k }, { kind: "remove", id: l }, { kind: "remove", id: g });
  const o = app("critical", 60);
  app("droppable", 30);
  ops.push({ kind: "remove", id: m }, { kind: "remove", id: n });
  app("critical", 20);
  ops.push({ kind: "remove", id: o });
  return ops;
}

/** Two records of ~150 B per 512-byte block; reclaims move two live records at a time. */
function reclaimScript(): Op[] {
  const ops: Op[] = [];
  let id = 0;
  const app = (cls: "critical" | "droppable"): number => {
    ops.push({ kind: "append", id, cls, payload: payload(id, 100) });
    return id++;
  };
  const r = [app("critical"), app("critical"), app("droppable"), app("critical"), app("droppable"), app("critical")];
  ops.push({ kind: "remove", id: r[0] }, { kind: "remove", id: r[4] });
  const more = [app("critical"), app("droppable")];
  ops.push({ kind: "remove", id: r[2] }, { kind: "remove", id: more[0] });
  ops.push({ kind: "update", id: r[1], payload: payload(500, 90) });
  app("critical");
  app("droppable");
  ops.push({ kind: "remove", id: r[1] }, { kind: "remove", id: r[3] });
  return ops;
}

/** After a run: append/remove enough to reclaim every block several times (catches late resurrection). */
function churn(): Op[] {
  const ops: Op[] = [];
  for (let i = 0; i < 24; i++) {
    ops.push({ kind: "append", id: 100000 + i, cls: "droppable", payload: payload(100000 + i, 60) });
    ops.push({ kind: "remove", id: 100000 + i });
  }
  return ops;
}

const TORN = [0, 1, 2, 3, 4, 5, 8, 12, 15, 16, 17, 20, 33, 64, 1e6];
function variants(): PowerCutPlan[] {
  const v: PowerCutPlan[] = [{ op: 0, when: "before" }, { op: 0, when: "after" }];
  for (const tornBytes of TORN) for (const tornBits of [0, 0xa5]) v.push({ op: 0, when: "during", tornBytes, tornBits });
  return v;
}

for (const [name, makeOps] of [["mixed", script], ["reclaim-heavy", reclaimScript]] as const)
test(`power cut at every cut point of a scripted run (${name}; before/during/after, torn lengths), then keeps working`, (t) => {
  const ops = makeOps();
  // dry run: count the flash operations and make sure the script exercises reclaim
  const dry = newStorage(3, 512);
  const dj = openJournal(dry).journal;
  const base = dry.countOps();
  const dm = new Model();
  t.is(runOps(dj, ops, 0, dm), ops.length);
  const total = dry.countOps() - base;
  t.true(dj.stats.reclaimed >= 1, `script reclaims ${dj.stats.reclaimed} blocks`);
  t.is(dj.stats.dropped, 0, "the script itself never fills the journal");
  t.deepEqual(dm.check(openJournal(dry).journal.entries()), []);

  let runs = 0;
  let nested = 0;
  for (let cut = 1; cut <= total; cut++) {
    for (const v of variants()) {
      const label = `cut op ${cut} ${v.when} torn ${v.tornBytes ?? "-"} bits ${v.tornBits ?? 0}`;
      const sim = newStorage(3, 512, cut);
      const journal = openJournal(sim).journal;
      const model = new Model();
      sim.powerCut({ ...v, op: cut });
      const at = runOps(journal, ops, 0, model);
      if (at === ops.length) {
        t.fail(`${label}: the cut never fired`);
        continue;
      }
      sim.reboot();
      const snap = sim.snapshot();
      const atCut = model.clone();
      const j2 = reopen(sim);
      const problems = model.check(j2.entries());
      if (problems.length) t.fail(`${label}: ${problems.join("; ")}`);
      // the recovered journal keeps working: finish the script, churn, reopen, check
      t.is(runOps(j2, ops, at + 1, model), ops.length, label);
      // garbage left by the cut can fill the small partition: then droppables may be dropped, and must be counted
      model.allowDrops = j2.stats.dropped > 0;
      const j3 = reopen(sim);
      const p1 = model.check(j3.entries());
      if (p1.length) t.fail(`${label}, after finishing: ${p1.join("; ")} (dropped ${j2.stats.dropped})`);
      model.allowDrops = false;
      runOps(j3, churn(), 0, model);
      t.is(j3.stats.dropped, 0, label);
      const p2 = model.check(reopen(sim).entries());
      if (p2.length) t.fail(`${label}, after churn: ${p2.join("; ")}`);
      runs++;

      // a second cut inside open() (its recovery writes/erases), only for the first variants to bound time
      if (v.when === "during" && (v.tornBytes ?? 0) > 20) continue;
      const probe = newStorage(3, 512);
      probe.restore(snap);
      const before = probe.countOps();
      openJournal(probe);
      const openOps = probe.countOps() - before;
      for (let k = 1; k <= openOps; k++) {
        for (const w of ["before", "during", "after"] as const) {
          const s2 = newStorage(3, 512, k);
          s2.restore(snap);
          const m2 = atCut.clone();
          s2.powerCut({ op: k, when: w });
          t.throws(() => openJournal(s2), { instanceOf: PowerCutError });
          s2.reboot();
          const pr = m2.check(reopen(s2).entries());
          if (pr.length) t.fail(`${label}, then cut in open() op ${k} ${w}: ${pr.join("; ")}`);
          nested++;
        }
      }
    }
  }
  t.log(`${total} cut points x ${variants().length} variants = ${runs} runs, ${nested} nested cuts in open()`);
  t.true(runs > 500);
});

test("an update cut before the old generation is cleared never resurrects the old payload later", (t) => {
  const sim = newStorage(3, 512);
  let journal = openJournal(sim).journal;
  // fill block 0 so that the new generation lands in block 1 while the old one stays in block 0
  const keep = journal.append(payload(1, 100), "critical");
  const a = journal.append({ tx: null }, "critical");
  const pad = journal.append(payload(2, 262), "critical");
  const before = sim.flash.erases;
  // the update's block start is op 1 (header), its append op 2, clearing the old generation op 3: cut before op 3
  sim.powerCut({ op: 3, when: "before" });
  t.throws(() => journal.update(a, { tx: 42 }), { instanceOf: PowerCutError });
  t.is(sim.flash.erases, before);
  sim.reboot();
  journal = openJournal(sim).journal;
  t.deepEqual(journal.entries().find((e) => e.seq === a)?.payload, { tx: 42 });
  journal.remove(a);
  // churn: block 1 (little live data) is reclaimed while block 0 (keep + pad) stays
  for (let i = 0; i < 40; i++) journal.remove(journal.append(payload(10 + i, 60), "droppable"));
  t.deepEqual(openJournal(sim).journal.seqs(), [keep, pad]);
});

test("seqs are never reused, even after every record was removed and its block erased", (t) => {
  const sim = newStorage(2, 256);
  let journal = openJournal(sim).journal;
  let max = 0;
  for (let round = 0; round < 30; round++) {
    for (let i = 0; i < round % 5; i++) {
      const s = journal.append(payload(i, 20 + round), "droppable");
      t.true(s > max, `round ${round}: seq ${s} after ${max}`);
      max = s;
      journal.remove(s);
    }
    journal = openJournal(sim).journal;
  }
});

test("random operations with random power cuts (property test)", (t) => {
  const seeds = Array.from({ length: 24 }, (_, i) => 1000 + i);
  let cuts = 0;
  for (const seed of seeds) {
    const rng = new Rng(seed);
    const blocks = rng.int(2, 5);
    const bl = rng.pick([256, 512, 1024]);
    const sim = newStorage(blocks, bl, seed);
    let journal = openJournal(sim).journal;
    const model = new Model();
    const limit = Math.floor(((blocks - 1) * (bl - 20)) / 2);
    let nextId = 0;
    for (let step = 0; step < 300; step++) {
      const live = [...model.live.keys()];
      const r = rng.int(0, 99);
      let op: Op;
      if (r < 45 || live.length === 0) {
        const size = rng.int(0, Math.min(120, bl / 4));
        if (journal.stats.bytesUsed + size + 80 > limit) {
          if (live.length === 0) continue;
          op = { kind: "remove", id: rng.pick(live) };
        } else op = { kind: "append", id: nextId++, cls: rng.pick(["critical", "droppable"] as const), payload: payload(nextId, size) };
      } else if (r < 80) op = { kind: "remove", id: rng.pick(live) };
      else if (r < 90) {
        const size = rng.int(0, Math.min(120, bl / 4));
        if (journal.stats.bytesUsed + size + 80 > limit) continue;
        op = { kind: "update", id: rng.pick(live), payload: payload(10000 + step, size) };
      } else if (r < 95) {
        journal = reopen(sim);
        const pr = model.check(journal.entries());
        if (pr.length) return t.fail(`seed ${seed} step ${step} (clean reopen): ${pr.join("; ")}`);
        continue;
      } else {
        const when = rng.pick(["before", "during", "after"] as const);
        sim.powerCut({ op: rng.int(1, 4), when, tornBits: rng.pick([0, 0xff, 0x5a]) });
        continue;
      }
      runOps(journal, [op], 0, model);
      if (sim.isPowerDown) {
        cuts++;
        sim.reboot();
        journal = reopen(sim);
        const pr = model.check(journal.entries());
        if (pr.length) return t.fail(`seed ${seed} step ${step} (after cut in ${op.kind}): ${pr.join("; ")}`);
      }
    }
    sim.reboot();
    const pr = model.check(reopen(sim).entries());
    if (pr.length) return t.fail(`seed ${seed} (final): ${pr.join("; ")}`);
  }
  t.log(`${seeds.length} seeds, ${cuts} power cuts`);
  t.true(cuts > 50);
});

test("random operations on a full journal: criticals never lost, droppables dropped (property test)", (t) => {
  for (const seed of [7, 8, 9, 10, 11, 12]) {
    const rng = new Rng(seed);
    const sim = newStorage(3, 512, seed);
    let journal = openJournal(sim).journal;
    const model = new Model();
    model.allowDrops = true;
    let fullErrors = 0;
    for (let step = 0; step < 400; step++) {
      const live = [...model.live.keys()];
      const r = rng.int(0, 99);
      let op: Op;
      if (r < 70 || live.length === 0) op = { kind: "append", id: step, cls: rng.int(0, 3) === 0 ? "critical" : "droppable", payload: payload(step, rng.int(0, 60)) };
      else if (r < 90) op = { kind: "remove", id: rng.pick(live) };
      else {
        sim.powerCut({ op: rng.int(1, 3), when: rng.pick(["before", "during", "after"] as const) });
        continue;
      }
      try {
        runOps(journal, [op], 0, model);
      } catch (e) {
        return t.fail(`seed ${seed} step ${step}: ${String(e)}`);
      }
      if (op.kind === "append" && !model.live.has(op.id) && !sim.isPowerDown) fullErrors++;
      if (sim.isPowerDown) {
        sim.reboot();
        journal = reopen(sim);
        const pr = model.check(journal.entries());
        if (pr.length) return t.fail(`seed ${seed} step ${step}: ${pr.join("; ")}`);
      }
    }
    sim.reboot();
    const pr = model.check(reopen(sim).entries());
    if (pr.length) return t.fail(`seed ${seed} (final): ${pr.join("; ")}`);
    t.true(fullErrors > 0, `seed ${seed}: the journal got full`);
  }
});

test("garbage flash opens without a crash and yields no records; it is then usable", (t) => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    const rng = new Rng(seed);
    const sim = newStorage(4, 512, seed);
    sim.flash.poke(PARTITION, 0, rng.bytes(4 * 512));
    if (seed % 2 === 0) {
      // a valid-looking block header in block 1 followed by random records
      const good = newStorage(4, 512);
      const gj = openJournal(good).journal;
      gj.append("x", "critical");
      const img = good.flash.peek(PARTITION);
      const hdr = img.subarray(0, 20);
      sim.flash.poke(PARTITION, 512, hdr);
      // and a record header with a plausible magic / length but a wrong CRC
      sim.flash.poke(PARTITION, 532, Uint8Array.of(0x4a, 0x52, 1, 0xff, 10, 0, 0, 0, 9, 0, 0, 0, 1, 2, 3, 4));
    }
    let recovered = 0;
    const journal = Journal.open(sim.storage.flash.open({ path: PARTITION }), { onRecover: () => recovered++ });
    t.deepEqual(journal.entries(), [], `seed ${seed}`);
    t.true(recovered > 0);
    const seqs = [journal.append({ a: 1 }, "critical"), journal.append({ b: 2 }, "droppable")];
    for (let i = 0; i < 30; i++) journal.remove(journal.append(payload(i, 50), "droppable"));
    t.deepEqual(openJournal(sim).journal.seqs(), seqs, `seed ${seed}`);
  }
});

test("bit flips in a valid image never crash open() and never invent records", (t) => {
  const seed = 4242;
  const rng = new Rng(seed);
  const sim = newStorage(3, 512);
  const journal = openJournal(sim).journal;
  const ever = new Map<number, string>();
  for (let i = 0; i < 40; i++) {
    const p = payload(i, rng.int(0, 60));
    const seq = journal.append(p, rng.pick(["critical", "droppable"] as const));
    ever.set(seq, JSON.stringify(p));
    if (i % 3 !== 0) journal.remove(seq);
  }
  const image = sim.snapshot();
  for (let i = 0; i < 500; i++) {
    sim.restore(image);
    for (let f = rng.int(1, 8); f > 0; f--) {
      const at = rng.int(0, 3 * 512 - 1);
      const cur = sim.flash.peek(PARTITION)[at];
      sim.flash.poke(PARTITION, at, Uint8Array.of(rng.int(0, 3) === 0 ? rng.int(0, 255) : cur ^ (1 << rng.int(0, 7))));
    }
    let entries;
    try {
      entries = openJournal(sim).journal.entries();
    } catch (e) {
      return t.fail(`seed ${seed} case ${i}: open threw ${String(e)}`);
    }
    for (const e of entries) {
      if (ever.get(e.seq) !== JSON.stringify(e.payload)) return t.fail(`seed ${seed} case ${i}: invented record ${e.seq}`);
    }
  }
  t.pass();
});

test("figures: bytes per append/remove, records per 4 KiB block, erases in an OCPP-like workload", (t) => {
  const sim = newStorage(4, 4096);
  const journal = openJournal(sim).journal;
  const mv = {
    connectorId: 1,
    transactionId: 123456,
    meterValue: [{ timestamp: "2025-06-01T12:34:56Z", sampledValue: [{ value: "12345.678", measurand: "Energy.Active.Import.Register", unit: "Wh" }] }],
  };
  const cborBytes = encodeCbor(mv).length;
  sim.flash.resetCounters();
  const seq = journal.append(mv, "droppable");
  const appendBytes = sim.flash.bytesWritten;
  sim.flash.resetCounters();
  journal.remove(seq);
  const removeBytes = sim.flash.bytesWritten;
  t.is(removeBytes, 1);
  t.is(appendBytes % 4, 0);
  const perBlock = Math.floor((4096 - 20) / appendBytes);
  // workload: 50 transactions, each start + 60 meter values + stop, each removed after its CALLRESULT
  sim.flash.resetCounters();
  let appended = 0;
  for (let tx = 0; tx < 50; tx++) {
    const start = journal.append({ start: tx, idTag: "ABCDEF01", meterStart: 0, timestamp: "2025-06-01T12:00:00Z" }, "critical");
    appended++;
    journal.update(start, { start: tx, transactionId: 1000 + tx });
    for (let i = 0; i < 60; i++) {
      journal.remove(journal.append({ ...mv, transactionId: 1000 + tx }, "droppable"));
      appended++;
    }
    journal.remove(start);
    journal.remove(journal.append({ stop: tx, meterStop: 1000 }, "critical"));
    appended++;
  }
  const bytesPerRecord = sim.flash.bytesWritten / appended;
  const erasesPer1000 = (sim.flash.erases / appended) * 1000;
  t.log(`MeterValues payload ${cborBytes} B CBOR -> ${appendBytes} B per append (16 B header), ${removeBytes} B per remove`);
  t.log(`${perBlock} such records per 4 KiB block; capacity ${journal.stats.capacity} B on 4 x 4 KiB`);
  t.log(`workload: ${appended} records, ${(bytesPerRecord).toFixed(1)} B written per record, ${erasesPer1000.toFixed(1)} block erases per 1000 records, max block wear ${Math.max(...sim.flash.wear(PARTITION))}`);
  t.is(journal.stats.records, 0);
  t.is(journal.stats.dropped, 0);
  t.true(perBlock >= 20);
  // with everything acknowledged, reclaim has nothing to copy: about one erase per block filled
  t.true(erasesPer1000 < (1000 * appendBytes) / (4096 - 20) + 5);
});
