/**
 * Wiring of the local load balancing into the firmware (called from main.ts): the charger's view for the
 * balancer (session, arbiter, meter) and the balancer itself, or null when loadBalancing is "off".
 */
import type { Hal, MeterReading } from "../../hal/index.js";
import type { FirmwareConfig } from "../config.js";
import type { LimitArbiter } from "../control/arbiter.js";
import type { Session } from "../session/session.js";
import { SiteBalancer, type ChargerView } from "./balancer.js";

export { SiteBalancer, type BalancerStatus, type ChargerView } from "./balancer.js";

/** Measured current above this on L1 only (the others below 0.5 A): a one-phase car. */
const ONE_PHASE_MIN_A = 1;

export function chargerView(hal: Hal, cfg: FirmwareConfig, arbiter: LimitArbiter, session: Session, meter: MeterReading): ChargerView {
  const onePhase = 1 << (cfg.siteOnePhaseLine - 1);
  return {
    active() {
      const s = session.status;
      return session.current !== null && s !== "SuspendedEV" && s !== "Finishing" && s !== "Faulted" && s !== "Unavailable";
    },
    lines() {
      if (hal.board.phases === 1) return onePhase;
      const c = meter.current;
      if (c[0]! > ONE_PHASE_MIN_A && c[1]! < 0.5 && c[2]! < 0.5) return onePhase;
      return arbiter.phases === 1 ? onePhase : 7;
    },
    want() {
      let w = Infinity;
      for (const c of arbiter.claims()) if (c.source !== "site" && c.source !== "v2g") w = Math.min(w, c.amps);
      return w === Infinity ? 0 : Math.min(w, 2000);
    },
    use() {
      const c = meter.current;
      const n = hal.board.phases === 1 ? 1 : 3;
      let m = 0;
      for (let i = 0; i < n; i++) if (c[i]! > m) m = c[i]!;
      return m;
    },
  };
}

export function installLoadBalancing(hal: Hal, cfg: FirmwareConfig, arbiter: LimitArbiter, session: Session, meter: MeterReading, kick: () => void): SiteBalancer | null {
  if (cfg.loadBalancing === "off") return null;
  const b = new SiteBalancer(
    hal,
    {
      mode: cfg.loadBalancing as "meter" | "leader",
      id: cfg.chargePointId,
      group: cfg.siteGroup,
      host: cfg.siteBrokerHost,
      port: cfg.siteBrokerPort,
      limit: cfg.siteCurrentLimit,
      failsafe: cfg.siteFailsafeCurrent,
      minCurrent: cfg.minCurrent,
      silenceMs: cfg.siteSilenceTimeoutMs,
      heartbeatMs: cfg.siteHeartbeatMs,
      reactionMs: cfg.siteReactionMs,
      rotationMs: cfg.siteRotationMs,
      marginA: cfg.siteMarginA,
      rampA: cfg.siteRampA,
      forgetMs: cfg.siteForgetMs,
    },
    arbiter,
    chargerView(hal, cfg, arbiter, session, meter),
    kick,
  );
  b.start();
  return b;
}
