/**
 * Reservation profile (OCPP 1.6 ReserveNow / CancelReservation).
 *
 * ReserveNow answers, in this order: Rejected when reservations are switched off (vendor key
 * ReservationEnabled), for an unknown connector, for connector 0 without ReserveConnectorZeroSupported, or for
 * an expiryDate already past; Faulted / Unavailable when the connector is so; Occupied when it is reserved by
 * another reservationId or is not Available (a transaction, a plugged EV, a pending authorization); else
 * Accepted. The same reservationId again replaces the reservation (spec). Connector 0 on this one-connector
 * charge point reserves that connector.
 *
 * While reserved the connector reports Reserved and the session accepts only the reservation's idTag or one
 * with the same parentIdTag (learnt from the list, the cache or Authorize.conf); the transaction that uses it
 * carries its reservationId (StartTransaction) and ends the reservation. At expiryDate the reservation ends
 * and the connector reports Available again. The reservation is kept in the "ocpp" key-value store ("rsv")
 * and restored after a reboot unless it expired meanwhile.
 */
import type { TimerId } from "../../../../hal/index.js";
import { parseIsoTime } from "../../../util/time.js";
import { RpcError } from "../../rpc/errors.js";
import type { Ocpp16Context, Ocpp16Feature } from "../context.js";

const STORE_KEY = "rsv";
/** The expiry timer is re-armed at most this far ahead, so a wall-clock step is noticed within it. */
const CHECK_MS = 60_000;

interface Stored {
  id: number;
  connectorId: number;
  idTag: string;
  parentIdTag: string | null;
  /** expiryDate, ms since the epoch. */
  expiry: number;
}

function validStored(v: unknown): v is Stored {
  if (v === null || typeof v !== "object") return false;
  const s = v as Record<string, unknown>;
  return (
    Number.isSafeInteger(s["id"]) &&
    Number.isSafeInteger(s["connectorId"]) &&
    typeof s["idTag"] === "string" &&
    (s["idTag"] as string).length > 0 &&
    (s["idTag"] as string).length <= 40 &&
    (s["parentIdTag"] === null || (typeof s["parentIdTag"] === "string" && (s["parentIdTag"] as string).length <= 40)) &&
    typeof s["expiry"] === "number" &&
    Number.isFinite(s["expiry"])
  );
}

export const reservation: Ocpp16Feature = {
  name: "reservation",
  install(ctx: Ocpp16Context): void {
    const hal = ctx.hal;
    ctx.keys.define("ReserveConnectorZeroSupported", { type: "boolean", default: "true", readonly: true });
    ctx.keys.define("ReservationEnabled", { type: "boolean", default: "true" });
    let current: Stored | null = null;
    let timer: TimerId | 0 = 0;

    const persist = () => {
      if (!ctx.store) return;
      try {
        if (current) ctx.store.set(STORE_KEY, JSON.stringify(current));
        else ctx.store.delete(STORE_KEY);
      } catch (e) {
        ctx.log("reservation", { event: "persist-failed", message: (e as Error).message });
      }
    };

    const disarm = () => {
      if (timer) hal.timers.clear(timer);
      timer = 0;
    };

    const arm = () => {
      disarm();
      if (!current) return;
      const left = current.expiry - hal.clock.wall();
      timer = hal.timers.set(check, Math.max(1, Math.min(left, CHECK_MS)));
    };

    const end = (why: string) => {
      if (!current) return;
      ctx.log("reservation", { event: why, reservationId: current.id });
      current = null;
      disarm();
      persist();
      if (ctx.session.reservation) ctx.session.setReservation(null);
    };

    function check(): void {
      timer = 0;
      if (!current) return;
      if (hal.clock.wall() >= current.expiry) end("expired");
      else arm();
    }

    const activate = (r: Stored) => {
      current = r;
      ctx.session.setReservation({ id: r.id, idTag: r.idTag, parentIdTag: r.parentIdTag });
      arm();
    };

    // Restore after a reboot.
    const raw = ctx.store?.get(STORE_KEY);
    if (raw !== undefined) {
      let v: unknown = null;
      try {
        v = JSON.parse(raw);
      } catch {
        v = null;
      }
      if (validStored(v) && v.expiry > hal.clock.wall()) activate(v);
      else {
        current = null;
        persist();
      }
    }

    ctx.session.listen({
      started(s) {
        if (current && s.reservationId === current.id) end("used");
      },
    });

    ctx.handle("ReserveNow", (p) => {
      const connectorId = p["connectorId"] as number;
      const id = p["reservationId"] as number;
      const expiry = parseIsoTime(p["expiryDate"] as string);
      if (!Number.isFinite(expiry)) throw new RpcError("PropertyConstraintViolation", "expiryDate is not a date-time");
      const parent = p["parentIdTag"] as string | undefined;
      if (!ctx.keys.getBool("ReservationEnabled")) return { status: "Rejected" };
      if (connectorId !== 0 && connectorId !== ctx.connectorId) return { status: "Rejected" };
      if (connectorId === 0 && !ctx.keys.getBool("ReserveConnectorZeroSupported")) return { status: "Rejected" };
      if (expiry <= hal.clock.wall()) return { status: "Rejected" };
      const status = ctx.session.status;
      if (status === "Faulted") return { status: "Faulted" };
      if (status === "Unavailable" || !ctx.session.available) return { status: "Unavailable" };
      const replacing = current !== null && current.id === id;
      if (current && !replacing) return { status: "Occupied" };
      if (ctx.session.current || (status !== "Available" && status !== "Reserved")) return { status: "Occupied" };
      activate({ id, connectorId, idTag: p["idTag"] as string, parentIdTag: parent ?? null, expiry });
      persist();
      ctx.log("reservation", { event: replacing ? "replaced" : "reserved", reservationId: id, connectorId });
      return { status: "Accepted" };
    });

    ctx.handle("CancelReservation", (p) => {
      if (!current || current.id !== p["reservationId"]) return { status: "Rejected" };
      end("cancelled");
      return { status: "Accepted" };
    });
  },
};
