/**
 * Test bench for the IEC 61851-1 core: a simulated EV side (resistor state, diode, current draw) and a contactor
 * whose mirror follows the command one step later unless welded/stuck. Pilot mV are computed from the duty the
 * core wrote in the previous step, as the real loop sees them.
 */
import { PILOT_MINUS_12V, PILOT_OFF, PILOT_PLUS_12V, PROXIMITY_OPEN } from "../../hal/charging.js";
import { ChargingCore, createOutputs, defaultCoreConfig, type CoreConfig, type CoreInputs, type CoreOutputs } from "../../firmware/iec61851/core.js";

export type EvState = "none" | "B" | "C" | "D" | "E";

export function levelMv(ev: EvState): number {
  switch (ev) {
    case "none": return 12000;
    case "B": return 9000;
    case "C": return 6000;
    case "D": return 3000;
    case "E": return 0;
  }
}

/** Pilot sample (mV) for a duty and the EV's resistor state. */
export function pilotMv(duty: number, ev: EvState, diodeShorted: boolean): [number, number] {
  if (duty === PILOT_OFF) return [0, 0];
  if (duty === PILOT_MINUS_12V) return [-12000, -12000];
  const level = levelMv(ev);
  if (duty === PILOT_PLUS_12V) return [level, level];
  const low = ev === "E" ? 0 : diodeShorted && ev !== "none" ? -level : -12000;
  return [level, low];
}

export function config(patch: Partial<CoreConfig> = {}, ps: Partial<CoreConfig["phaseSwitching"]> = {}): CoreConfig {
  const c = defaultCoreConfig();
  Object.assign(c, patch);
  c.phaseSwitching = Object.assign(defaultCoreConfig().phaseSwitching, patch.phaseSwitching ?? {}, ps);
  return c;
}

export class Bench {
  readonly core: ChargingCore;
  readonly out: CoreOutputs = createOutputs();
  readonly inp: CoreInputs;
  readonly dt: number;
  ev: EvState = "none";
  diodeShorted = false;
  /** Mirror contacts: null = follow the command (one step late), else forced. */
  forceMirror0: 0 | 1 | null = null;
  forceMirror1: 0 | 1 | null = null;
  /** Current the EV draws per active phase when energised (before min with `evFollows`). */
  evDraw = 0;
  /** When true, the EV draws min(evDraw, signalledAmps). */
  evFollows = true;
  /** Per-step override of the pilot sample (for glitches), consumed once. */
  glitch: [number, number] | null = null;
  private lastDuty = PILOT_PLUS_12V;
  private lastC0: 0 | 1 = 0;
  private lastC1: 0 | 1 = 0;

  constructor(cfg: CoreConfig = config(), dt = 10) {
    this.core = new ChargingCore(cfg);
    this.dt = dt;
    this.inp = {
      now: 0,
      pilotHigh: 12000,
      pilotLow: 12000,
      ppOhms: 220,
      rcm: 0,
      mirror0: 0,
      mirror1: 0,
      current: [0, 0, 0],
      temperature: 25,
      authorized: true,
      available: true,
      stopRequested: false,
      limit: 32,
      phases: 3,
    };
  }

  get now(): number {
    return this.inp.now;
  }

  /** Prepares the inputs of the next step from the world, without stepping. */
  prepare(): void {
    const i = this.inp;
    const [h, l] = this.glitch ?? pilotMv(this.lastDuty, this.ev, this.diodeShorted);
    this.glitch = null;
    i.pilotHigh = h;
    i.pilotLow = l;
    i.mirror0 = this.forceMirror0 ?? this.lastC0;
    i.mirror1 = this.forceMirror1 ?? this.lastC1;
    const energised = i.mirror0 === 1 && (this.ev === "C" || this.ev === "D");
    const draw = energised ? (this.evFollows ? Math.min(this.evDraw, this.out.signalledAmps) : this.evDraw) : 0;
    i.current[0] = draw;
    i.current[1] = energised && i.mirror1 === 1 ? draw : 0;
    i.current[2] = i.current[1];
  }

  /** One control period: advance time, build inputs, step. */
  step(): CoreOutputs {
    this.inp.now += this.dt;
    this.prepare();
    return this.commit();
  }

  /** Steps with the inputs as they are now (after prepare() and any manual edits). */
  commit(): CoreOutputs {
    const out = this.core.step(this.inp, this.out);
    this.lastDuty = out.duty;
    this.lastC0 = out.contactor0;
    this.lastC1 = out.contactor1;
    return out;
  }

  run(ms: number): CoreOutputs {
    const end = this.inp.now + ms;
    while (this.inp.now < end) this.step();
    return this.out;
  }

  /** Steps until pred() holds (at most maxMs); returns the number of steps taken, or -1. */
  until(pred: (o: CoreOutputs) => boolean, maxMs = 60_000): number {
    const end = this.inp.now + maxMs;
    let n = 0;
    while (this.inp.now < end) {
      this.step();
      n++;
      if (pred(this.out)) return n;
    }
    return -1;
  }

  /** Plug in, EV asks for charge, wait until the contactor is closed. */
  startCharging(draw = 16): void {
    this.ev = "B";
    this.evDraw = draw;
    this.until((o) => o.duty !== PILOT_PLUS_12V, 5000);
    this.ev = "C";
    if (this.until((o) => o.contactor0 === 1, 5000) < 0) throw new Error("did not close: " + JSON.stringify(this.out));
    this.run(500);
  }
}

export { PILOT_MINUS_12V, PILOT_OFF, PILOT_PLUS_12V, PROXIMITY_OPEN };
