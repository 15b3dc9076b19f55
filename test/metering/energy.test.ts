/**
 * Energy accounting (firmware/metering/energy.ts): monotonic per-phase registers persisted in the key-value
 * HAL, re-basing when the meter's own register restarts, records validated at load, and the power-fail path:
 * 1,000 seeded sessions with a power cut at a random moment.
 */
import test from "ava";
import type { MeterReading } from "../../hal/index.js";
import { EnergyAccounting, parseRecord } from "../../firmware/metering/energy.js";
import { Rng } from "../../simulator/rng.js";
import { SimStorage } from "../../simulator/storage/index.js";

function reading(imp = 0, exp = 0, power = [0, 0, 0]): MeterReading {
  return { voltage: [230, 230, 230], current: [0, 0, 0], power: [...power], frequency: 50, energyImport: imp, energyExport: exp };
}

test("registers add the meter's increases, split by phase power, and never go backwards when the meter restarts", (t) => {
  const s = new SimStorage({ seed: 1 });
  const a = new EnergyAccounting({ store: s.storage.keyValue.open({ path: "meter" }) });
  a.update(reading(100, 0, [1000, 2000, 1000]), 0); // baseline
  a.update(reading(140, 0, [1000, 2000, 1000]), 100);
  t.is(a.totalImport, 40);
  t.deepEqual(a.importWh, [10, 20, 10]);
  a.update(reading(5, 0, [1000, 2000, 1000]), 200); // the meter restarted
  t.is(a.totalImport, 40);
  t.is(a.stats.rebases, 1);
  a.update(reading(9, 2, [0, 0, -3000]), 300);
  t.is(a.totalImport, 44);
  t.deepEqual(a.exportWh, [0, 0, 2]);
});

test("per-phase registers of the reading are used when present", (t) => {
  const a = new EnergyAccounting({ store: null });
  const r = reading(0, 0, [1, 1, 1]);
  r.energyImportPhase = [0, 0, 0];
  r.energyExportPhase = [0, 0, 0];
  a.update(r, 0);
  r.energyImport = 6;
  r.energyImportPhase = [1, 2, 3];
  a.update(r, 1);
  t.deepEqual(a.importWh, [1, 2, 3]);
});

test("commit and load round-trip exactly; a corrupted record falls back to the other one", (t) => {
  const s = new SimStorage({ seed: 1 });
  const kv = s.storage.keyValue.open({ path: "meter" });
  const a = new EnergyAccounting({ store: kv });
  a.update(reading(0), 0);
  a.update(reading(1234.56789, 0, [1, 0, 0]), 1);
  t.true(a.commit("test", 1));
  a.update(reading(2000.125, 0, [1, 0, 0]), 2);
  t.true(a.commit("test", 2));
  const b = new EnergyAccounting({ store: kv });
  t.is(b.totalImport, 2000.125);
  // Corrupt the newer record: the older one wins.
  const newer = kv.get("e0") !== undefined && parseRecord(kv.get("e0")!)![0] === 2 ? "e0" : "e1";
  kv.set(newer, kv.get(newer)!.replace("2000.125", "9000.125"));
  const c = new EnergyAccounting({ store: kv });
  t.is(c.totalImport, 1234.56789);
  t.is(c.stats.invalidRecords, 1);
});

test("records from flash are validated: garbage, negative, non-finite, wrong arity", (t) => {
  for (const bad of ["", "x", "1;2;3", "1;-1;0;0;0;0;0;0;0;123", "1;NaN;0;0;0;0;0;0;0;1", "1;1e400;0;0;0;0;0;0;0;5", "1;0;0;0;0;0;0;123", "a".repeat(500)]) t.is(parseRecord(bad), null, bad);
});

test("a meter whose own register survived the reboot: what it counted after the last commit is added", (t) => {
  const s = new SimStorage({ seed: 1 });
  const kv = s.storage.keyValue.open({ path: "meter" });
  const a = new EnergyAccounting({ store: kv });
  a.update(reading(500, 0, [1, 1, 1]), 0);
  a.update(reading(530, 0, [1, 1, 1]), 100);
  a.commit("start", 100);
  a.update(reading(560, 0, [1, 1, 1]), 200); // not committed: the power is cut
  const b = new EnergyAccounting({ store: kv });
  t.is(b.totalImport, 30);
  b.update(reading(560, 0, [1, 1, 1]), 0); // the external meter kept its register
  t.is(b.totalImport, 60);
  const c = new EnergyAccounting({ store: kv });
  c.update(reading(0.2, 0, [1, 1, 1]), 0); // a meter IC that restarted from zero: re-based
  t.is(c.totalImport, 30);
});

test("periodic commits while energy flows, none while idle", (t) => {
  const a = new EnergyAccounting({ store: new SimStorage({ seed: 1 }).storage.keyValue.open({ path: "m" }), commitIntervalMs: 1000 });
  a.update(reading(0), 0);
  for (let ms = 100; ms <= 10_000; ms += 100) a.update(reading(ms / 100, 0, [1, 0, 0]), ms);
  t.is(a.stats.commits, 10);
  for (let ms = 10_100; ms <= 20_000; ms += 100) a.update(reading(100, 0, [0, 0, 0]), ms);
  t.is(a.stats.commits, 10);
});

/**
 * 1,000 sessions, seeded. Each: a random load on 1 or 3 phases for 2..30 s of virtual time, meter read every
 * control period (10 ms), a periodic commit every second, and the power cut at a random moment. The supply
 * monitor warns holdUpMs before the cut: from then the mains is gone (no energy flows) and the accounting reads
 * once more and commits. Then the board reboots: a new accounting loads the registers; the meter's own register
 * restarts from 0. Checked after every cut: the registers never go backwards, and the energy lost (the truth
 * minus the restored register) is at most the energy of one control period.
 */
test("power cut at random points over 1,000 seeded sessions: never backwards, loss <= one control period", (t) => {
  const SEED = 20_260_115;
  const PERIOD = 10;
  const HOLD_UP = 50;
  const rng = new Rng(SEED);
  const storage = new SimStorage({ seed: SEED });
  let acc = new EnergyAccounting({ store: storage.storage.keyValue.open({ path: "meter" }), commitIntervalMs: 1000 });
  let truth = 0; // energy that really flowed, Wh
  let lastRestored = 0;
  let worstLoss = 0;
  let cutsDuringWrite = 0;
  for (let session = 0; session < 1000; session++) {
    const phases = rng.float() < 0.3 ? 1 : 3;
    const perPhase = 1000 + rng.float() * 6400; // W
    const power = [perPhase, phases === 3 ? perPhase : 0, phases === 3 ? perPhase : 0];
    const total = power[0]! + power[1]! + power[2]!;
    const durationMs = 2000 + Math.floor(rng.float() * 28_000);
    const cutAt = Math.floor(rng.float() * durationMs);
    const warnAt = Math.max(0, cutAt - HOLD_UP);
    let meterReg = 0; // the meter IC's own register: restarts at every power-up
    const r = reading(0, 0, power);
    let now = 0;
    acc.update(r, now);
    let mainsOn = true;
    let warned = false;
    while (now < cutAt) {
      now += PERIOD;
      const flowing = mainsOn ? total : 0;
      const wh = (flowing * PERIOD) / 3_600_000;
      meterReg += wh;
      truth += wh;
      r.energyImport = meterReg;
      if (!warned && now >= warnAt) {
        // The warning: the mains is gone from here; read once more and commit within the hold-up time.
        warned = true;
        mainsOn = false;
        acc.update(r, now);
        acc.commit("power-fail", now);
        continue;
      }
      acc.update(r, now);
    }
    if (!warned) {
      // cut within the first period: the warning comes at the same instant
      acc.update(r, now);
      acc.commit("power-fail", now);
    }
    storage.cutNow();
    storage.reboot();
    acc = new EnergyAccounting({ store: storage.storage.keyValue.open({ path: "meter" }), commitIntervalMs: 1000 });
    const restored = acc.totalImport;
    const loss = truth - restored;
    const onePeriodWh = (total * PERIOD) / 3_600_000;
    if (restored < lastRestored - 1e-9) return t.fail(`seed ${SEED} session ${session}: register went backwards ${lastRestored} -> ${restored}`);
    if (loss > onePeriodWh + 1e-6) return t.fail(`seed ${SEED} session ${session}: lost ${loss} Wh > one period ${onePeriodWh} Wh`);
    if (loss < -1e-6) return t.fail(`seed ${SEED} session ${session}: register above the truth by ${-loss} Wh`);
    worstLoss = Math.max(worstLoss, loss);
    lastRestored = restored;
    // Every tenth session also tears a periodic write: the power dies in the middle of a key-value set.
    if (session % 10 === 9) {
      storage.powerCut({ op: 1, when: "during" });
      const before = acc.totalImport;
      const r2 = reading(0, 0, power);
      acc.update(r2, 0);
      let died = false;
      try {
        for (let ms = PERIOD; ms <= 5000 && !died; ms += PERIOD) {
          r2.energyImport += (total * PERIOD) / 3_600_000;
          acc.update(r2, ms);
        }
      } catch (e) {
        died = (e as Error).name === "PowerCutError";
      }
      t.true(died, "the torn write happened");
      cutsDuringWrite++;
      storage.reboot();
      acc = new EnergyAccounting({ store: storage.storage.keyValue.open({ path: "meter" }), commitIntervalMs: 1000 });
      if (acc.totalImport < before - 1e-9) return t.fail(`seed ${SEED} session ${session}: torn write lost committed energy`);
      truth = acc.totalImport; // what flowed during the torn-write episode is not part of the warned-cut bound
      lastRestored = acc.totalImport;
    }
  }
  t.true(worstLoss >= 0);
  t.is(cutsDuringWrite, 100);
  t.log(`worst loss ${worstLoss.toExponential(2)} Wh over 1000 cuts; final register ${lastRestored.toFixed(1)} Wh`);
});
