/**
 * Transactions (Core profile): StartTransaction when an authorized session begins, sampled MeterValues during
 * it, StopTransaction with its reason; all through the transaction queue so nothing is lost offline.
 */
import type { SessionInfo } from "../../../session/session.js";
import { isoTime } from "../../../util/time.js";
import type { Ocpp16Context, Ocpp16Feature } from "../context.js";
import type { TimerId } from "../../../../hal/index.js";

export const transactions: Ocpp16Feature = {
  name: "transactions",
  install(ctx: Ocpp16Context): void {
    ctx.keys.define("MeterValueSampleInterval", { type: "integer", default: String(ctx.config.meterValueSampleIntervalS), min: 0, max: 86_400 });
    let sampleTimer: TimerId | 0 = 0;
    const hal = ctx.hal;

    const sample = (s: SessionInfo) => {
      if (ctx.session.current !== s) return;
      const m = ctx.meter;
      const sampled: Array<Record<string, unknown>> = [
        { value: m.energyImport.toFixed(0), context: "Sample.Periodic", measurand: "Energy.Active.Import.Register", unit: "Wh" },
        { value: (m.power[0]! + m.power[1]! + m.power[2]!).toFixed(0), context: "Sample.Periodic", measurand: "Power.Active.Import", unit: "W" },
      ];
      const phases = hal.board.phases;
      for (let i = 0; i < phases; i++) {
        sampled.push({ value: m.current[i]!.toFixed(1), context: "Sample.Periodic", measurand: "Current.Import", phase: `L${i + 1}`, unit: "A" });
      }
      for (let i = 0; i < phases; i++) {
        sampled.push({ value: m.voltage[i]!.toFixed(1), context: "Sample.Periodic", measurand: "Voltage", phase: `L${i + 1}-N`, unit: "V" });
      }
      ctx.tx.enqueue("MeterValues", s.number, { connectorId: ctx.connectorId, meterValue: [{ timestamp: ctx.now(), sampledValue: sampled }] }, true);
    };

    ctx.session.listen({
      started(s) {
        ctx.tx.enqueue("StartTransaction", s.number, {
          connectorId: ctx.connectorId,
          idTag: s.idTag,
          meterStart: Math.floor(s.meterStartWh),
          timestamp: isoTime(s.startWall),
        });
        const interval = ctx.keys.getInt("MeterValueSampleInterval") * 1000;
        if (interval > 0) sampleTimer = hal.timers.set(() => sample(s), interval, interval);
      },
      ended(s) {
        if (sampleTimer) hal.timers.clear(sampleTimer);
        sampleTimer = 0;
        const payload: Record<string, unknown> = {
          meterStop: Math.floor(s.meterStopWh),
          timestamp: ctx.now(),
          reason: s.stopReason ?? "Other",
        };
        if (s.stopIdTag) payload["idTag"] = s.stopIdTag;
        // transactionId is filled in by the queue once StartTransaction.conf has assigned it.
        ctx.tx.enqueue("StopTransaction", s.number, payload);
      },
    });
  },
};
