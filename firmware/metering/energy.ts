/**
 * Energy accounting: the charger's own import and export registers (Wh, per phase L1..L3 and total),
 * monotonic for the life of the device, persisted through the key-value storage HAL.
 *
 * - Input: each meter reading (hal/metering.ts MeterReading). Its energy registers may restart (a metering
 *   IC that was reset, a new boot of the driver): the accounting adds the increase since the previous reading
 *   and ignores a decrease (it re-bases), so its own registers never go backwards. The first reading after a
 *   boot is the baseline (nothing flowed while the board was off). Per-phase increases come from the reading's
 *   per-phase registers when it has them, else the total increase is split by the phases' active power.
 * - Persistence: two KeyValue keys written alternately ("e0"/"e1"), each "seq;i1;i2;i3;x1;x2;x3;ri;rx;crc"
 *   (shortest round-trip decimal text, CRC-32 of the rest); the valid record with the highest seq wins at load,
 *   so a corrupted or torn record costs at most one commit. ri/rx are the meter's own registers at the commit:
 *   a meter whose register survives the MCU's reboot (an external meter, the simulator's board meter) lets the
 *   accounting add what it counted after the last commit; one that restarted (a metering IC that lost power)
 *   is re-based. Commits happen on the power-fail early warning (with a
 *   fresh reading first), at session start and end, and every `commitIntervalMs` while energy flows.
 * - Export (V2G) is counted the same way from negative power / the export register.
 *
 * The registers after a power cut are the last committed ones: with the early warning, that is the energy up
 * to the last reading before the supply failed (a control period at most, and nothing flows once the mains is
 * gone); without it (a crash), up to the last periodic commit.
 */
import type { KeyValue, MeterReading } from "../../hal/index.js";
import { crc32 } from "../util/crc32.js";
import { utf8Encode } from "../util/utf8.js";

export interface EnergyAccountingOptions {
  /** The "meter" key-value store; null: registers live in RAM only. */
  store: KeyValue | null;
  /** Commit at least this often while energy flows, ms. Default 15 min. */
  commitIntervalMs?: number;
  /** Structured log. */
  log?: (kind: string, fields: Record<string, number | string | boolean>) => void;
}

const KEYS = ["e0", "e1"] as const;

export class EnergyAccounting {
  /** Registers, Wh, per phase. */
  readonly importWh = [0, 0, 0];
  readonly exportWh = [0, 0, 0];
  private seq = 0;
  private lastImp = NaN;
  private lastExp = NaN;
  private readonly lastImpPh = [NaN, NaN, NaN];
  private readonly lastExpPh = [NaN, NaN, NaN];
  private lastCommitAt = 0;
  private committedImport = 0;
  private committedExport = 0;
  private readonly interval: number;
  /** Counters: commits and the bytes they wrote (key + value, UTF-8), load results. */
  readonly stats = { commits: 0, bytesWritten: 0, failedCommits: 0, invalidRecords: 0, rebases: 0 };

  constructor(private readonly o: EnergyAccountingOptions) {
    this.interval = o.commitIntervalMs ?? 15 * 60_000;
    this.load();
  }

  get totalImport(): number {
    return this.importWh[0]! + this.importWh[1]! + this.importWh[2]!;
  }

  get totalExport(): number {
    return this.exportWh[0]! + this.exportWh[1]! + this.exportWh[2]!;
  }

  /** The persisted total import, Wh (what survives a power cut now). */
  get committedImportWh(): number {
    return this.committedImport;
  }

  private load(): void {
    const kv = this.o.store;
    if (!kv) return;
    let best: number[] | null = null;
    for (const k of KEYS) {
      let text: string | undefined;
      try {
        text = kv.get(k);
      } catch {
        text = undefined;
      }
      if (text === undefined) continue;
      const rec = parseRecord(text);
      if (!rec) {
        this.stats.invalidRecords++;
        this.o.log?.("energy", { event: "invalid-record", key: k });
        continue;
      }
      if (!best || rec[0]! > best[0]!) best = rec;
    }
    if (!best) return;
    this.seq = best[0]!;
    for (let k = 0; k < 3; k++) {
      this.importWh[k] = best[1 + k]!;
      this.exportWh[k] = best[4 + k]!;
    }
    this.lastImp = best[7]!;
    this.lastExp = best[8]!;
    this.committedImport = this.totalImport;
    this.committedExport = this.totalExport;
  }

  /**
   * Adds what the meter counted since its previous reading. `now` is monotonic ms (for periodic commits).
   * Allocates nothing unless it commits.
   */
  update(r: MeterReading, now: number): void {
    const imp = r.energyImport;
    const exp = r.energyExport;
    if (!(imp >= 0) || !(exp >= 0) || imp === Infinity || exp === Infinity) return; // not a reading
    const ip = r.energyImportPhase;
    const ep = r.energyExportPhase;
    if (this.lastImp === this.lastImp) {
      const dI = imp - this.lastImp;
      const dE = exp - this.lastExp;
      if (dI < 0 || dE < 0) {
        this.stats.rebases++;
      } else if (ip && ep && this.lastImpPh[0] === this.lastImpPh[0]) {
        for (let k = 0; k < 3; k++) {
          const a = ip[k]! - this.lastImpPh[k]!;
          const b = ep[k]! - this.lastExpPh[k]!;
          if (a > 0) this.importWh[k] += a;
          if (b > 0) this.exportWh[k] += b;
        }
      } else {
        if (dI > 0) this.split(this.importWh, dI, r.power, 1);
        if (dE > 0) this.split(this.exportWh, dE, r.power, -1);
      }
    }
    this.lastImp = imp;
    this.lastExp = exp;
    if (ip && ep) {
      for (let k = 0; k < 3; k++) {
        this.lastImpPh[k] = ip[k]!;
        this.lastExpPh[k] = ep[k]!;
      }
    }
    if (now - this.lastCommitAt >= this.interval && (this.totalImport !== this.committedImport || this.totalExport !== this.committedExport)) this.commit("periodic", now);
  }

  private split(into: number[], wh: number, power: number[], sign: 1 | -1): void {
    let sum = 0;
    for (let k = 0; k < 3; k++) {
      const p = power[k]! * sign;
      if (p > 0) sum += p;
    }
    if (!(sum > 0)) {
      into[0] += wh;
      return;
    }
    for (let k = 0; k < 3; k++) {
      const p = power[k]! * sign;
      if (p > 0) into[k] += (wh * p) / sum;
    }
  }

  /** Persists the registers now. Returns false when the store refused (the error is logged, nothing thrown). */
  commit(reason: string, now: number): boolean {
    this.lastCommitAt = now;
    const kv = this.o.store;
    if (!kv) return false;
    const seq = this.seq + 1;
    const i = this.importWh;
    const e = this.exportWh;
    const ri = this.lastImp === this.lastImp ? this.lastImp : 0;
    const rx = this.lastExp === this.lastExp ? this.lastExp : 0;
    const body = `${seq};${i[0]};${i[1]};${i[2]};${e[0]};${e[1]};${e[2]};${ri};${rx}`;
    const text = `${body};${crc32(utf8Encode(body)) >>> 0}`;
    const key = KEYS[seq & 1]!;
    try {
      kv.set(key, text);
      // The very first record goes to both keys: the store's set of keys is fixed from then on (no growth).
      if (seq === 1) {
        kv.set(KEYS[0], text);
        this.stats.bytesWritten += KEYS[0].length + text.length;
      }
    } catch (err) {
      this.stats.failedCommits++;
      // A power cut in the middle of set() kills the board anyway: let it propagate (the HAL's own error).
      if ((err as Error).name === "PowerCutError" || (err as Error).name === "DeadHalError") throw err;
      this.o.log?.("energy", { event: "commit-failed", reason, message: String((err as Error).message) });
      return false;
    }
    this.seq = seq;
    this.committedImport = this.totalImport;
    this.committedExport = this.totalExport;
    this.stats.commits++;
    this.stats.bytesWritten += key.length + text.length;
    return true;
  }
}

/** "seq;i1;i2;i3;x1;x2;x3;ri;rx;crc" -> [seq, i1..x3, ri, rx], or null when it is not a valid record. */
export function parseRecord(text: string): number[] | null {
  if (typeof text !== "string" || text.length > 200) return null;
  const cut = text.lastIndexOf(";");
  if (cut < 0) return null;
  const body = text.slice(0, cut);
  const crc = Number(text.slice(cut + 1));
  if (!Number.isInteger(crc) || crc !== crc32(utf8Encode(body)) >>> 0) return null;
  const parts = body.split(";");
  if (parts.length !== 9) return null;
  const out: number[] = [];
  for (let k = 0; k < 9; k++) {
    const s = parts[k]!;
    if (s.length === 0 || s.length > 32) return null;
    const n = Number(s);
    if (!Number.isFinite(n) || n < 0) return null;
    out.push(n);
  }
  if (!Number.isSafeInteger(out[0])) return null;
  return out;
}
