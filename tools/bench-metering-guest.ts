/**
 * XS guest for tools/bench-metering.ts: the ADE9000 driver and the energy accounting inside XS, measured with
 * xsnap's meter (compute units, deterministic). The chip model's answers are recorded first and then replayed
 * by a trivial SPI (a byte copy, as a native SPI transfer would be), so the figures are the driver's and the
 * accounting's own compute, not the simulator's.
 *   {op:"driver", n}  n read cycles of the driver: {median, max, bytes} per cycle
 *   {op:"commit", n}  the power-fail path n times (fresh read + accounting update + commit): {median, max, bytes}
 */
import type { BufferLike, KeyValue, MeterReading, Spi } from "../hal/index.js";
import { Ade9000 } from "../hal/drivers/ade9000.js";
import { EnergyAccounting } from "../firmware/metering/energy.js";
import { Ade9000Chip, type AnalogSample } from "../simulator/chips/ade9000.js";
import { createChipIo } from "../simulator/chips/io.js";
import { Rng } from "../simulator/rng.js";
import { meterBracket, meterNow, serveCommands, stats } from "./xs/guest-kit.js";

function toBytes(b: BufferLike): Uint8Array {
  return b instanceof Uint8Array ? b : b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Records every MISO frame the chip model gives. */
class RecordingSpi implements Spi {
  readonly frames: Uint8Array[] = [];
  constructor(private readonly inner: Spi) {}
  write(b: BufferLike): void {
    this.inner.write(b);
  }
  read(b: Uint8Array | ArrayBuffer): void {
    this.inner.read(b);
    this.frames.push(toBytes(b).slice());
  }
  transfer(b: Uint8Array | ArrayBuffer): void {
    this.inner.transfer(b);
    this.frames.push(toBytes(b).slice());
  }
  flush(d?: boolean): void {
    this.inner.flush(d);
  }
  close(): void {
    this.inner.close();
  }
}

/** Replays recorded frames: what a native SPI transfer costs the VM (one copy). */
class ReplaySpi implements Spi {
  private i = 0;
  bytes = 0;
  constructor(private readonly frames: Uint8Array[]) {}
  write(b: BufferLike): void {
    this.bytes += toBytes(b).length;
  }
  read(b: Uint8Array | ArrayBuffer): void {
    this.transfer(b);
  }
  transfer(b: Uint8Array | ArrayBuffer): void {
    const u = toBytes(b);
    u.set(this.frames[this.i++]!);
    this.bytes += u.length;
  }
  flush(): void {}
  close(): void {}
}

class MapKv implements KeyValue {
  readonly m = new Map<string, string>();
  bytes = 0;
  get(k: string): string | undefined {
    return this.m.get(k);
  }
  set(k: string, v: string): void {
    this.bytes += k.length + v.length;
    this.m.set(k, v);
  }
  delete(k: string): void {
    this.m.delete(k);
  }
  keys(): string[] {
    return [...this.m.keys()];
  }
  close(): void {}
}

function reading(): MeterReading {
  return { voltage: [0, 0, 0], current: [0, 0, 0], power: [0, 0, 0], frequency: 0, energyImport: 0, energyExport: 0, energyImportPhase: [0, 0, 0], energyExportPhase: [0, 0, 0] };
}

/** Records `cycles` driver cycles (plus its start) against the chip model; returns the frames. */
function record(cycles: number): { frames: Uint8Array[]; period: number } {
  const st = { t: 0, netWh: 0 };
  const chip = new Ade9000Chip({
    vFullScale: 800,
    iFullScale: 80,
    rng: new Rng(1),
    frontEnd: {
      sample(out: AnalogSample) {
        for (let k = 0; k < 3; k++) {
          out.volts[k] = 230 + k;
          out.amps[k] = 32;
          out.watts[k] = (230 + k) * 32;
        }
        out.hz = 50;
        out.netWh = st.netWh;
      },
    },
  });
  const io = createChipIo({ check: () => {}, devices: new Map([[5, chip]]), powerFail: null, deliver: (fn) => fn() });
  const spi = new RecordingSpi(new io.SPI({ hz: 10_000_000, select: 5 }));
  const d = new Ade9000({ spi, vFullScale: 800, iFullScale: 80, now: () => st.t });
  const r = reading();
  for (let i = 0; i < cycles; i++) {
    st.t += 100;
    st.netWh += (693 * 32 * 100) / 3_600_000;
    d.read(r);
  }
  return { frames: spi.frames, period: 100 };
}

const bracket = meterBracket();

const ops: Record<string, (m: Record<string, unknown>) => unknown> = {
  driver(m) {
    const n = Number(m["n"] ?? 200);
    const { frames } = record(n);
    const spi = new ReplaySpi(frames);
    let t = 0;
    const d = new Ade9000({ spi, vFullScale: 800, iFullScale: 80, now: () => t });
    const startBytes = spi.bytes;
    const r = reading();
    const costs: number[] = [];
    for (let i = 0; i < n; i++) {
      t += 100;
      const a = meterNow();
      d.read(r);
      costs.push(meterNow() - a - bracket);
    }
    return { ...stats(costs), bytes: (spi.bytes - startBytes) / n, energyWh: r.energyImport, fault: d.fault };
  },
  commit(m) {
    const n = Number(m["n"] ?? 200);
    const { frames } = record(n);
    const spi = new ReplaySpi(frames);
    let t = 0;
    const d = new Ade9000({ spi, vFullScale: 800, iFullScale: 80, now: () => t });
    const kv = new MapKv();
    const acc = new EnergyAccounting({ store: kv, commitIntervalMs: 1e12 });
    const r = reading();
    const costs: number[] = [];
    for (let i = 0; i < n; i++) {
      t += 100;
      const a = meterNow();
      d.read(r);
      acc.update(r, t);
      acc.commit("power-fail", t);
      costs.push(meterNow() - a - bracket);
    }
    return { ...stats(costs), bytes: kv.bytes / n };
  },
};

serveCommands("bench-metering", ops);
