/**
 * Transactions (Core profile): StartTransaction when an authorized session begins, MeterValues during it
 * (sampled, Sample.Periodic) and clock-aligned ones (Sample.Clock, also outside transactions), StopTransaction
 * with its reason and transactionData (StopTxnSampledData / StopTxnAlignedData); all transaction messages
 * through the transaction queue (journaled before they are sent, replayed in order, see ../../transactions/).
 *
 * After a reboot, a session the journal shows open (started, never stopped) gets its StopTransaction with
 * reason PowerLoss, meterStop = the meter register read at boot (the energy register survives in the meter
 * IC) and the boot time (OCPP 1.6 §4.8 lets the charge point stop such transactions after the reboot).
 *
 * With a supply monitor (hal.io.PowerFail, Board.holdUpMs > 0) the running transaction is stopped (PowerLoss,
 * meter and time of the warning) and its StopTransaction journaled within the hold-up time, before going down.
 *
 * Session numbers are unique across reboots: a counter in the "ocpp" key-value store, and never below the
 * highest session number still in the journal.
 *
 * Keys owned here: MeterValueSampleInterval, MeterValuesSampledData(+MaxLength), ClockAlignedDataInterval,
 * MeterValuesAlignedData(+MaxLength), StopTxnSampledData(+MaxLength), StopTxnAlignedData(+MaxLength),
 * StopTransactionOnEVSideDisconnect (read-only true: the session ends when the EV side disconnects),
 * UnlockConnectorOnEVSideDisconnect (false: the socket lock keeps the cable after an EV-side unplug until the
 * transaction's idTag is presented again or UnlockConnector; boards without a lock store the value only),
 * TransactionMessageAttempts,
 * TransactionMessageRetryInterval, and the vendor key TransactionJournalMaxBytes (the journal's byte budget).
 *
 * Unsynchronised clock: every timestamp of a transaction message (StartTransaction, MeterValues, StopTransaction
 * and its transactionData) taken while hal.clock.synchronized is false (the clock policy's, which also expires)
 * is stored with the monotonic time of the reading; the queue sends nothing until the clock is synchronised,
 * then rewrites those times from the synchronised clock (../../transactions/queue.ts MONO_KEY, README.md).
 * A previous boot's unsynchronised times keep the RTC's value, logged as "tx-time-unsynced".
 *
 * SoC (the EV's state of charge, Session.evSoc, reported over ISO 15118 / DIN 70121) is a measurand of all four
 * *Data keys: an integer in Percent at location EV, left out while the session knows none (never a made-up 0); a
 * reading left with no value at all is not sent (SampledValue is 1..*). The Transaction.End values still see the
 * last SoC (the session clears it after its `ended` listeners).
 *
 * Signed meter values (config signedMeterValues): the periodic (Sample.Periodic) and clock-aligned
 * (Sample.Clock) MeterValues of a transaction carry the OCMF fiscal reading ("T" page) as one more sampledValue,
 * format "SignedData"; StopTransaction.transactionData carries the signed Begin/End datasets.
 */
import type { Temperature, TimerId } from "../../../../hal/index.js";
import { sameIdTag, type SessionInfo } from "../../../session/session.js";
import { MEASURANDS, sampledValues, type MeterSources } from "../../transactions/meter-values.js";
import { MONO_KEY } from "../../transactions/queue.js";
import { isoTime } from "../../../util/time.js";
import { signedMeterFor } from "../../../metering/signed.js";
import type { Ocpp16Context, Ocpp16Feature } from "../context.js";

const SESSION_KEY = "txSessionNo";

/** The reservation a session used, for StartTransaction.reservationId (the Reservation profile sets it). */
function reservationOf(s: SessionInfo): { reservationId?: number } {
  const id = (s as { reservationId?: unknown }).reservationId;
  return typeof id === "number" ? { reservationId: id } : {};
}
/** Aligned readings kept for StopTxnAlignedData (bounded: the StopTransaction must fit one journal record). */
const MAX_ALIGNED_IN_STOP = 8;

export const transactions: Ocpp16Feature = {
  name: "transactions",
  install(ctx: Ocpp16Context): void {
    const hal = ctx.hal;
    const keys = ctx.keys;
    const supported = MEASURANDS as readonly string[];
    const max = String(supported.length);
    const csl = (dflt: string) => ({ type: "csl" as const, default: dflt, values: supported, maxItems: supported.length });
    keys.define("MeterValueSampleInterval", { type: "integer", default: String(ctx.config.meterValueSampleIntervalS), min: 0, max: 86_400, onChange: () => restartSampling() });
    keys.define("MeterValuesSampledData", csl("Energy.Active.Import.Register"));
    keys.define("MeterValuesSampledDataMaxLength", { type: "integer", default: max, readonly: true, volatile: true });
    keys.define("ClockAlignedDataInterval", { type: "integer", default: "0", min: 0, max: 86_400, onChange: () => scheduleAligned() });
    keys.define("MeterValuesAlignedData", csl("Energy.Active.Import.Register"));
    keys.define("MeterValuesAlignedDataMaxLength", { type: "integer", default: max, readonly: true, volatile: true });
    keys.define("StopTxnSampledData", csl(""));
    keys.define("StopTxnSampledDataMaxLength", { type: "integer", default: max, readonly: true, volatile: true });
    keys.define("StopTxnAlignedData", csl(""));
    keys.define("StopTxnAlignedDataMaxLength", { type: "integer", default: max, readonly: true, volatile: true });
    keys.define("StopTransactionOnEVSideDisconnect", { type: "boolean", default: "true", readonly: true, volatile: true });
    // Wired to the socket lock: false keeps the cable locked after an EV-side unplug until the driver's card
    // (the transaction's idTag) is presented again or the CSMS sends UnlockConnector (control/lock.ts).
    const lock = ctx.lock;
    keys.define("UnlockConnectorOnEVSideDisconnect", {
      type: "boolean",
      default: "true",
      onChange: (v) => {
        if (lock) lock.holdOnEvDisconnect = v.toLowerCase() !== "true";
      },
    });
    if (lock) lock.holdOnEvDisconnect = !keys.getBool("UnlockConnectorOnEVSideDisconnect");
    let heldFor: string | null = null;
    keys.define("TransactionMessageAttempts", { type: "integer", default: "3", min: 1, max: 100 });
    keys.define("TransactionMessageRetryInterval", { type: "integer", default: "60", min: 0, max: 86_400 });
    // 16 KB by default: the queue keeps each record's bytes in RAM too (the ESP32 heap is ~78 KB); 0 = all the flash.
    keys.define("TransactionJournalMaxBytes", {
      type: "integer",
      default: "16384",
      min: 0,
      max: 16_777_216,
      onChange: (v) => ctx.tx.setByteLimit(parseInt(v, 10)),
    });
    ctx.tx.setByteLimit(keys.getInt("TransactionJournalMaxBytes"));
    // Signed meter values (OCMF, firmware/metering/signed.ts) when on: the public key as MeterPublicKey.
    const signed = signedMeterFor(ctx.session);
    signed?.defineKeys(keys);

    // Timestamps: an unsynchronised reading carries its monotonic time (the queue corrects it before sending).
    const clock = hal.clock;
    const stamp = (o: Record<string, unknown>, wall: number, mono: number, synced: boolean): Record<string, unknown> => {
      o["timestamp"] = isoTime(wall);
      if (!synced) o[MONO_KEY] = mono;
      return o;
    };
    const stampNow = (o: Record<string, unknown>): Record<string, unknown> => stamp(o, clock.wall(), clock.now(), clock.synchronized);
    ctx.tx.useClock(clock, (m) => ctx.log("tx-time-unsynced", { action: m.action, session: m.session }));
    ctx.listen({ clockSet: () => ctx.tx.pump() });
    const policy = clock as { listen?: (l: () => void) => void };
    if (typeof policy.listen === "function") policy.listen(() => ctx.tx.pump());

    // --- meter sources
    let sensor: Temperature | null | undefined;
    const sources: MeterSources = {
      reading: ctx.meter,
      phases: hal.board.phases,
      temperature(): number {
        if (sensor === undefined) {
          sensor = null;
          const name = hal.board.temperatureSensors[0];
          if (name !== undefined) {
            try {
              sensor = new hal.io.Temperature({ sensor: name });
            } catch {
              sensor = null;
            }
          }
        }
        if (!sensor) return NaN;
        try {
          return sensor.read();
        } catch {
          return NaN;
        }
      },
      offered: () => ctx.arbiter.amps,
      // The EV's SoC (ISO 15118 / DIN 70121, via Session.setEvSoc): left out while unknown.
      soc: () => ctx.session.evSoc,
    };

    // --- session numbers, unique across reboots
    const store = ctx.store;
    ctx.session.numbering = () => {
      const stored = store ? parseInt(store.get(SESSION_KEY) ?? "0", 10) : 0;
      const n = Math.max(Number.isSafeInteger(stored) && stored > 0 ? stored : 0, ctx.tx.maxSession(), lastNumber) + 1;
      lastNumber = n;
      if (store) store.set(SESSION_KEY, String(n));
      return n;
    };
    let lastNumber = 0;

    // --- sampled meter values of the running transaction
    let sampleTimer: TimerId | 0 = 0;
    let running: SessionInfo | null = null;
    let aligned: Array<Record<string, unknown>> = [];
    let begin: Array<Record<string, unknown>> = [];

    const sample = () => {
      const s = running;
      if (!s || ctx.session.current !== s) return;
      const list = keys.getList("MeterValuesSampledData");
      if (list.length === 0) return;
      const sv = sampledValues(list, "Sample.Periodic", sources);
      if (sv.length === 0) return;
      const sig = signed?.sampledValue(s, "Sample.Periodic", ctx.meter.energyImport);
      if (sig) sv.push(sig);
      ctx.tx.enqueue("MeterValues", s.number, { connectorId: ctx.connectorId, meterValue: [stampNow({ sampledValue: sv })] }, true);
    };
    const restartSampling = () => {
      if (sampleTimer) hal.timers.clear(sampleTimer);
      sampleTimer = 0;
      const interval = keys.getInt("MeterValueSampleInterval") * 1000;
      if (running && interval > 0) sampleTimer = hal.timers.set(sample, interval, interval);
    };

    // --- clock-aligned meter values (wall-clock boundaries; in and outside transactions)
    let alignedTimer: TimerId | 0 = 0;
    const alignedTick = () => {
      alignedTimer = 0;
      const list = keys.getList("MeterValuesAlignedData");
      const stopList = keys.getList("StopTxnAlignedData");
      const wall = clock.wall();
      const mono = clock.now();
      const synced = clock.synchronized;
      const inTx = running !== null && ctx.session.current === running;
      // A measurand without a value now (SoC unknown, no temperature sensor) is left out; nothing left: no message
      // (SampledValue is 1..* in 1.6).
      if (list.length > 0) {
        const sv = sampledValues(list, "Sample.Clock", sources);
        if (inTx) {
          const sig = signed?.sampledValue(running!, "Sample.Clock", ctx.meter.energyImport);
          if (sig) sv.push(sig);
          if (sv.length > 0) ctx.tx.enqueue("MeterValues", running!.number, { connectorId: ctx.connectorId, meterValue: [stamp({ sampledValue: sv }, wall, mono, synced)] }, true);
        } else if (sv.length > 0 && ctx.online && ctx.registered) ctx.call("MeterValues", { connectorId: ctx.connectorId, meterValue: [{ timestamp: isoTime(wall), sampledValue: sv }] });
      }
      const stopSv = running && stopList.length > 0 ? sampledValues(stopList, "Sample.Clock", sources) : [];
      if (stopSv.length > 0) {
        aligned.push(stamp({ sampledValue: stopSv }, wall, mono, synced));
        if (aligned.length > MAX_ALIGNED_IN_STOP) aligned.shift();
      }
      scheduleAligned();
    };
    const scheduleAligned = () => {
      if (alignedTimer) hal.timers.clear(alignedTimer);
      alignedTimer = 0;
      const interval = keys.getInt("ClockAlignedDataInterval") * 1000;
      const wall = hal.clock.wall();
      if (interval <= 0 || wall <= 0) return;
      const next = Math.floor(wall / interval) * interval + interval;
      alignedTimer = hal.timers.set(alignedTick, next - wall);
    };
    scheduleAligned();
    ctx.listen({ registered: () => scheduleAligned() });

    // --- transactions
    ctx.session.listen({
      started(s) {
        running = s;
        aligned = [];
        const stopSampled = keys.getList("StopTxnSampledData");
        const beginSv = stopSampled.length ? sampledValues(stopSampled, "Transaction.Begin", sources) : [];
        begin = beginSv.length ? [stamp({ sampledValue: beginSv }, s.startWall, s.startMono, s.startSynced)] : [];
        const payload: Record<string, unknown> = {
          connectorId: ctx.connectorId,
          idTag: s.idTag,
          meterStart: Math.floor(s.meterStartWh),
          ...reservationOf(s),
        };
        ctx.tx.enqueue("StartTransaction", s.number, stamp(payload, s.startWall, s.startMono, s.startSynced));
        restartSampling();
      },
      presented(idTag, source) {
        if (heldFor === null || lock === null) return;
        if (!lock.held) heldFor = null;
        else if (source === "local" && sameIdTag(idTag, heldFor)) {
          heldFor = null;
          lock.release();
          ctx.log("lock-released", { reason: "idTag" });
        }
      },
      ended(s) {
        running = null;
        restartSampling();
        // The lock sees the unplug on the control tick after the session does: hold on the key, not on lock.held.
        if (lock !== null && lock.holdOnEvDisconnect && s.stopReason === "EVDisconnected") heldFor = s.idTag;
        // Already stopped (PowerLoss) within the power-fail hold-up time: the CSMS has that StopTransaction.
        if (s.number === stoppedOnPowerFail) return;
        stopTransaction(s);
      },
    });
    const stopTransaction = (s: SessionInfo) => {
      const wall = clock.wall();
      const mono = clock.now();
      const synced = clock.synchronized;
      const payload: Record<string, unknown> = {
        meterStop: Math.max(Math.floor(s.meterStopWh), Math.floor(s.meterStartWh)),
        reason: s.stopReason ?? "Other",
      };
      stamp(payload, wall, mono, synced);
      if (s.stopIdTag) payload["idTag"] = s.stopIdTag;
      const data = begin.concat(aligned);
      const signedData = signed?.transactionData(s);
      if (signedData) data.push(...signedData);
      const stopSampled = keys.getList("StopTxnSampledData");
      const endSv = stopSampled.length ? sampledValues(stopSampled, "Transaction.End", sources) : [];
      if (endSv.length) data.push(stamp({ sampledValue: endSv }, wall, mono, synced));
      if (data.length) payload["transactionData"] = data;
      begin = [];
      aligned = [];
      // transactionId is applied by the queue once StartTransaction.conf has assigned it.
      ctx.tx.enqueue("StopTransaction", s.number, payload);
    };

    // --- the supply monitor's early warning (hal.io.PowerFail, Board.holdUpMs): the running transaction is
    // stopped with reason PowerLoss and its StopTransaction journaled within the hold-up time (one journal
    // append); it goes out at once if the link still carries it, else after the reboot. The session is asked to
    // stop too (if the supply comes back, charging does not go on outside a transaction).
    let stoppedOnPowerFail = 0;
    const powerFailing = () => {
      const s = running;
      if (s === null || ctx.session.current !== s || stoppedOnPowerFail === s.number) return;
      stoppedOnPowerFail = s.number;
      running = null;
      restartSampling();
      if (s.stopReason === null) s.stopReason = "PowerLoss";
      s.meterStopWh = ctx.meter.energyImport;
      ctx.log("power-fail-stop", { session: s.number, meterStop: Math.floor(s.meterStopWh) });
      stopTransaction(s);
      ctx.session.requestStop("PowerLoss");
    };
    if (hal.io.PowerFail !== undefined && (hal.board.holdUpMs ?? 0) > 0) {
      try {
        new hal.io.PowerFail({ onReadable: () => powerFailing() });
      } catch (e) {
        ctx.log("device-error", { device: "powerfail", code: "open", message: (e as Error).message });
      }
    }

    // --- sessions the power failure interrupted: stop them now (PowerLoss), or once the clock is known
    const interrupted = ctx.tx.interrupted();
    if (interrupted.length > 0) {
      const stopAll = () => {
        const meterStop = Math.floor(ctx.meter.energyImport);
        for (const n of interrupted) {
          ctx.log("transaction-recovered", { session: n, meterStop });
          ctx.tx.enqueue("StopTransaction", n, stampNow({ meterStop, reason: "PowerLoss" }));
        }
      };
      if (hal.clock.wall() > 0) stopAll();
      else {
        let done = false;
        ctx.listen({
          registered() {
            if (!done) {
              done = true;
              stopAll();
            }
          },
        });
      }
    }
  },
};
