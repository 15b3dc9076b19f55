/**
 * Wall-clock time for the firmware: the clock policy in front of the HAL's clock (clock-policy.ts) and the SNTP
 * client (sntp.ts). main.ts hands the policy to every component as `hal.clock`, so the CSMS's currentTime
 * (ChargePoint16 calls clock.setWall) and SNTP feed one filter, and OCMF / telemetry read one `synchronized`.
 */
import type { Hal } from "../../hal/index.js";
import type { FirmwareConfig } from "../config.js";
import { ClockPolicy } from "./clock-policy.js";
import { SntpClient, parseServers } from "./sntp.js";

export { ClockPolicy, type ClockStatus, type SampleVerdict, type TimeSource } from "./clock-policy.js";
export { SntpClient, parseServers } from "./sntp.js";

export interface TimeService {
  clock: ClockPolicy;
  sntp: SntpClient | null;
  /** The HAL with the policy as its clock. */
  hal: Hal;
}

export function installTime(hal: Hal, cfg: FirmwareConfig): TimeService {
  const clock = new ClockPolicy(hal.clock, {
    stepThresholdMs: cfg.clockStepThresholdMs,
    maxSlewPpm: cfg.clockMaxSlewPpm,
    outlierMs: cfg.clockOutlierMs,
    validityMs: cfg.clockSyncValidityS * 1000,
  });
  const view: Hal = { ...hal, clock };
  clock.listen((verdict, source, errorMs) => {
    if (verdict !== "refresh") hal.log.event("clock", { verdict, source, errorMs });
  });
  const servers = parseServers(cfg.ntpServers);
  const sntp = servers.length > 0 ? new SntpClient(view, clock, { servers, pollMs: cfg.ntpPollIntervalS * 1000 }) : null;
  return { clock, sntp, hal: view };
}
