/** RemoteStartTransaction / RemoteStopTransaction (Core profile). */
import type { Ocpp16Context, Ocpp16Feature } from "../context.js";

export const remote: Ocpp16Feature = {
  name: "remote",
  install(ctx: Ocpp16Context): void {
    ctx.handle("RemoteStartTransaction", (p) => {
      const idTag = p["idTag"] as string;
      if (p["connectorId"] !== undefined && p["connectorId"] !== ctx.connectorId) return { status: "Rejected" };
      if (ctx.session.current || !ctx.session.available) return { status: "Rejected" };
      ctx.session.present(idTag, "remote");
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
