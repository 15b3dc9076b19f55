/**
 * RemoteTrigger profile: TriggerMessage for every triggerable 1.6 message. The TriggerMessage.conf goes out first
 * and the requested message right after it. A module that owns a message (firmware or diagnostics status) can
 * register how to send it (ctx.registerTrigger); otherwise the defaults below are used.
 */
import { socSampledValue } from "../../transactions/meter-values.js";
import type { Ocpp16Context, Ocpp16Feature } from "../context.js";

const TRIGGERABLE = [
  "BootNotification",
  "DiagnosticsStatusNotification",
  "FirmwareStatusNotification",
  "Heartbeat",
  "MeterValues",
  "StatusNotification",
] as const;

/**
 * MeterValues with context Trigger for a connector (0: the charge point's main meter, no transaction); the
 * connector's values include the EV's SoC (Percent, location EV) when the session knows one.
 */
export function sendTriggeredMeterValues(ctx: Ocpp16Context, connectorId: number): void {
  const m = ctx.meter;
  const phases = ctx.hal.board.phases;
  const sampled: Array<Record<string, unknown>> = [
    { value: m.energyImport.toFixed(0), context: "Trigger", measurand: "Energy.Active.Import.Register", unit: "Wh" },
    { value: (m.power[0]! + m.power[1]! + m.power[2]!).toFixed(0), context: "Trigger", measurand: "Power.Active.Import", unit: "W" },
  ];
  for (let i = 0; i < phases; i++) sampled.push({ value: m.current[i]!.toFixed(1), context: "Trigger", measurand: "Current.Import", phase: `L${i + 1}`, unit: "A" });
  for (let i = 0; i < phases; i++) sampled.push({ value: m.voltage[i]!.toFixed(1), context: "Trigger", measurand: "Voltage", phase: `L${i + 1}-N`, unit: "V" });
  if (connectorId === ctx.connectorId) {
    const soc = socSampledValue(ctx.session.evSoc, "Trigger");
    if (soc !== null) sampled.push(soc);
  }
  const payload: Record<string, unknown> = { connectorId, meterValue: [{ timestamp: ctx.now(), sampledValue: sampled }] };
  const cur = ctx.session.current;
  if (connectorId === ctx.connectorId && cur) {
    const id = ctx.tx.transactionId(cur.number);
    if (id !== undefined) payload["transactionId"] = id;
  }
  ctx.call("MeterValues", payload);
}

export const trigger: Ocpp16Feature = {
  name: "trigger",
  install(ctx: Ocpp16Context): void {
    const defaults: Record<string, (connectorId: number | undefined) => void> = {
      BootNotification: () => ctx.boot(),
      Heartbeat: () => ctx.heartbeat(),
      StatusNotification: (c) => {
        if (c === undefined) {
          ctx.sendStatus(0);
          ctx.sendStatus(ctx.connectorId);
        } else {
          ctx.sendStatus(c);
        }
      },
      MeterValues: (c) => sendTriggeredMeterValues(ctx, c === undefined ? ctx.connectorId : c),
      // Nothing is being uploaded or installed unless the module that does it registered its own sender.
      DiagnosticsStatusNotification: () => ctx.call("DiagnosticsStatusNotification", { status: "Idle" }),
      FirmwareStatusNotification: () => ctx.call("FirmwareStatusNotification", { status: "Idle" }),
    };
    ctx.handle("TriggerMessage", (p) => {
      const message = p["requestedMessage"] as string;
      const connectorId = p["connectorId"] as number | undefined;
      if (!(TRIGGERABLE as readonly string[]).includes(message)) return { status: "NotImplemented" };
      if (connectorId !== undefined && connectorId !== 0 && connectorId !== ctx.connectorId) return { status: "Rejected" };
      const send = ctx.triggerSender(message) ?? defaults[message]!;
      // After the .conf (the transport sends it when this handler returns).
      ctx.hal.timers.set(() => send(connectorId), 0);
      ctx.log("trigger", { message, connectorId: connectorId ?? null });
      return { status: "Accepted" };
    });
  },
};
