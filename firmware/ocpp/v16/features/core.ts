/**
 * Core profile operations: Reset (soft/hard), UnlockConnector, ChangeAvailability (persisted, Scheduled while a
 * transaction runs), DataTransfer in both directions (vendor handlers registered on the context), and the Core
 * configuration keys no other module owns (ConnectionTimeOut, ConnectorPhaseRotation, MinimumStatusDuration,
 * NumberOfConnectors, ResetRetries, MaxEnergyOnInvalidId).
 */
import type { TimerId } from "../../../../hal/index.js";
import type { CallResult } from "../../rpc/connection.js";
import type { Ocpp16Context, Ocpp16Feature } from "../context.js";

/** After Reset.conf the charge point waits at least this long before restarting (the answer must get out), ms. */
export const RESET_MIN_DELAY_MS = 500;
/** How often a pending reset checks whether the transaction has ended and its StopTransaction is delivered, ms. */
const RESET_POLL_MS = 100;
/** A soft reset waits this much longer than the EV stop timeout for the StopTransaction to be delivered, ms. */
export const SOFT_RESET_FLUSH_MS = 30_000;
/** A hard reset waits this much longer than the EV stop timeout, ms (only for the contactor to open). */
export const HARD_RESET_GRACE_MS = 2_000;

const ROTATIONS = ["NotApplicable", "Unknown", "RST", "RTS", "SRT", "STR", "TRS", "TSR"] as const;

/** Where the availability chosen by ChangeAvailability is kept (key-value store "ocpp"). */
const AVAIL_CP = "availCP";
const AVAIL_CONNECTOR = "availC1";

/** Sends a DataTransfer.req to the CSMS (vendor extensions); `done` gets the DataTransfer.conf or the error. */
export function sendDataTransfer(ctx: Ocpp16Context, vendorId: string, messageId: string | undefined, data: string | undefined, done?: CallResult): void {
  if (typeof vendorId !== "string" || vendorId.length === 0 || vendorId.length > 255) throw new RangeError("vendorId must be 1..255 characters");
  if (messageId !== undefined && (typeof messageId !== "string" || messageId.length > 50)) throw new RangeError("messageId must be at most 50 characters");
  const payload: Record<string, unknown> = { vendorId };
  if (messageId !== undefined) payload["messageId"] = messageId;
  if (data !== undefined) payload["data"] = String(data);
  ctx.call("DataTransfer", payload, done);
}

export const core: Ocpp16Feature = {
  name: "core",
  install(ctx: Ocpp16Context): void {
    const hal = ctx.hal;
    const keys = ctx.keys;
    const session = ctx.session;

    // ---- configuration keys (Core profile) owned here
    keys.define("ConnectionTimeOut", {
      type: "integer",
      default: String(ctx.config.connectionTimeOutS),
      min: 1,
      max: 86_400,
      onChange: (v) => session.setConnectionTimeOut(parseInt(v, 10) * 1000),
    });
    session.setConnectionTimeOut(keys.getInt("ConnectionTimeOut") * 1000);
    const rotationValues: string[] = [];
    for (const r of ROTATIONS) rotationValues.push(r);
    for (const c of [0, ctx.connectorId]) for (const r of ROTATIONS) rotationValues.push(`${c}.${r}`);
    keys.define("ConnectorPhaseRotationMaxLength", { type: "integer", default: "2", readonly: true });
    const rot = hal.board.phases === 3 ? "RST" : "NotApplicable";
    keys.define("ConnectorPhaseRotation", {
      type: "csl",
      default: `0.${rot},${ctx.connectorId}.${rot}`,
      values: rotationValues,
      maxItems: keys.getInt("ConnectorPhaseRotationMaxLength"),
    });
    keys.define("MinimumStatusDuration", { type: "integer", default: "0", min: 0, max: 3_600 });
    keys.define("NumberOfConnectors", { type: "integer", default: "1", readonly: true });
    keys.define("ResetRetries", { type: "integer", default: "1", min: 0, max: 10 });
    // Stored and reported; the energy cap itself is not enforced yet (see the report of the Core module).
    keys.define("MaxEnergyOnInvalidId", { type: "integer", default: "0", min: 0, max: 1_000_000 });

    // ---- Reset
    let resetTimer: TimerId | 0 = 0;
    ctx.handle("Reset", (p) => {
      const hard = p["type"] === "Hard";
      if (resetTimer) return { status: "Accepted" }; // one is on its way already
      const reason = hard ? "HardReset" : "SoftReset";
      ctx.log("reset", { type: hard ? "Hard" : "Soft", transaction: session.current !== null });
      // The transaction ends first with the reset as its reason (the StopTransaction is queued when it has).
      session.requestStop(reason);
      const t0 = hal.clock.now();
      const maxWait = ctx.config.evStopTimeoutMs + (hard ? HARD_RESET_GRACE_MS : SOFT_RESET_FLUSH_MS);
      resetTimer = hal.timers.set(
        () => {
          const waited = hal.clock.now() - t0;
          const over = session.current === null;
          // Soft: also wait until the queued StopTransaction has been delivered (while online).
          const delivered = hard || ctx.tx.length === 0 || !ctx.online;
          if ((over && delivered && waited >= RESET_MIN_DELAY_MS) || waited >= maxWait) {
            hal.timers.clear(resetTimer);
            resetTimer = 0;
            hal.system.restart(reason);
          }
        },
        RESET_POLL_MS,
        RESET_POLL_MS,
      );
      return { status: "Accepted" };
    });

    // ---- UnlockConnector
    ctx.handle("UnlockConnector", (p) => {
      const lock = ctx.lock;
      // An unknown connector, or a fixed cable (nothing to unlock).
      if (p["connectorId"] !== ctx.connectorId || lock === null) return { status: "NotSupported" };
      if (session.current !== null) {
        // Stop the transaction first; the control loop releases the lock once the contactor is open.
        session.requestStop("UnlockCommand");
        return { status: lock.fault ? "UnlockFailed" : "Unlocked" };
      }
      return { status: lock.unlock(hal.clock.now()) ? "Unlocked" : "UnlockFailed" };
    });

    // ---- ChangeAvailability (connector 0 = the whole charge point), persisted
    const stored = (k: string): boolean => ctx.store?.get(k) !== "Inoperative";
    let cpOperative = stored(AVAIL_CP);
    let connectorOperative = stored(AVAIL_CONNECTOR);
    let scheduled = false;
    const apply = (): void => {
      const operative = cpOperative && connectorOperative;
      if (session.available !== operative) {
        session.setAvailable(operative);
        ctx.log("availability", { operative });
        ctx.sendStatus(0);
      }
    };
    apply();
    session.listen({
      ended() {
        if (!scheduled) return;
        scheduled = false;
        apply();
      },
    });
    ctx.handle("ChangeAvailability", (p) => {
      const id = p["connectorId"] as number;
      if (id !== 0 && id !== ctx.connectorId) return { status: "Rejected" };
      const operative = p["type"] === "Operative";
      const k = id === 0 ? AVAIL_CP : AVAIL_CONNECTOR;
      // Persisted at once: a reboot before a Scheduled change takes effect still applies it.
      try {
        ctx.store?.set(k, operative ? "Operative" : "Inoperative");
      } catch (e) {
        ctx.log("device-error", { device: "keyvalue", code: "set", message: (e as Error).message });
      }
      if (id === 0) cpOperative = operative;
      else connectorOperative = operative;
      const effective = cpOperative && connectorOperative;
      if (!effective && session.current !== null) {
        scheduled = true;
        return { status: "Scheduled" };
      }
      scheduled = false;
      apply();
      return { status: "Accepted" };
    });

    // ---- DataTransfer from the CSMS: the vendor's handler, or UnknownVendorId
    ctx.handle("DataTransfer", (p) => {
      const handler = ctx.vendorHandler(p["vendorId"] as string);
      if (!handler) return { status: "UnknownVendorId" };
      const r = handler(p["messageId"] as string | undefined, p["data"] as string | undefined);
      const out: Record<string, unknown> = { status: r.status };
      if (r.data !== undefined) out["data"] = r.data;
      return out;
    });
  },
};
