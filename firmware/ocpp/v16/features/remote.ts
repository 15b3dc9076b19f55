/**
 * RemoteStartTransaction / RemoteStopTransaction (Core profile), with AuthorizeRemoteTxRequests: when true, the
 * idTag of a remote start is authorized (Authorize.req, local list, cache) before the session may use it.
 * A connector reserved for another idTag (and no parentIdTag in the reservation) answers Rejected.
 */
import { sameIdTag } from "../../../session/session.js";
import type { Ocpp16Context, Ocpp16Feature } from "../context.js";
import { remoteStartProfile } from "./smart-charging.js";

/**
 * The chargingProfile of a RemoteStartTransaction.req (SmartCharging, TC_059/TC_060): the SmartCharging module
 * checks it (a TxProfile without transactionId, within the profile limits) and, once the start is Accepted,
 * keeps it as the TxProfile of the transaction this authorization starts. null: reject the request.
 */
function remoteStartProfileAcceptable(ctx: Ocpp16Context, profile: Record<string, unknown> | undefined): ((idTag: string) => void) | null {
  if (profile === undefined) return () => {};
  return remoteStartProfile(ctx, profile);
}

export const remote: Ocpp16Feature = {
  name: "remote",
  install(ctx: Ocpp16Context): void {
    ctx.keys.define("AuthorizeRemoteTxRequests", { type: "boolean", default: "false" });
    ctx.handle("RemoteStartTransaction", (p) => {
      const idTag = p["idTag"] as string;
      // connectorId 0 is not a connector (TC_027); an unknown one is rejected alike.
      if (p["connectorId"] !== undefined && p["connectorId"] !== ctx.connectorId) return { status: "Rejected" };
      const s = ctx.session;
      if (s.current || s.authorized || !s.available || s.status === "Faulted") return { status: "Rejected" };
      // Reserved for another idTag: only an idTag of the reservation's parentIdTag group may use it. Without a
      // parentIdTag in the reservation no other idTag can, so Rejected now; with one, the idTag's own parentIdTag is
      // known only after its authorization (OCPP 1.6 §5.13: Authorize.req when neither the list nor the cache
      // has it), so the request is Accepted and the session refuses the idTag if the groups differ (TC_053_2).
      const r = s.reservation;
      if (r !== null && !sameIdTag(r.idTag, idTag) && r.parentIdTag === null) return { status: "Rejected" };
      const keepProfile = remoteStartProfileAcceptable(ctx, p["chargingProfile"] as Record<string, unknown> | undefined);
      if (!keepProfile) return { status: "Rejected" };
      keepProfile(idTag);
      if (ctx.keys.getBool("AuthorizeRemoteTxRequests")) {
        // After the .conf has gone out: ask the authorization chain, then present the idTag as granted.
        ctx.hal.timers.set(() => {
          ctx.authorizer(idTag, (accepted, detail) => {
            ctx.log("auth", { idTag, accepted, detail, remote: true });
            if (accepted) s.present(idTag, "remote");
          });
        }, 0);
      } else {
        s.present(idTag, "remote");
      }
      return { status: "Accepted" };
    });
    ctx.handle("RemoteStopTransaction", (p) => {
      const id = p["transactionId"] as number;
      const cur = ctx.session.current;
      if (!cur || ctx.tx.transactionId(cur.number) !== id) return { status: "Rejected" };
      ctx.session.requestStop("Remote");
      return { status: "Accepted" };
    });
  },
};
