/** Stopping with the same card or one of the same parentIdTag (OCA TC_068, TC_069). */
import test from "ava";
import type { CsmsCallHook } from "../../simulator/csms/index.js";
import { runAuth } from "./auth-support.js";

/** Authorize.conf with a parentIdTag per card. */
const parents: Record<string, string> = { "CARD-A": "FLEET-1", "CARD-B": "FLEET-1", "CARD-C": "FLEET-2" };
let txId = 1000;
const idTagInfo = (idTag: string) => ({ status: "Accepted", ...(parents[idTag] ? { parentIdTag: parents[idTag] } : {}) });
const hook: CsmsCallHook = ({ action, payload }) => {
  const idTag = (payload as { idTag: string }).idTag;
  if (action === "Authorize") return { idTagInfo: idTagInfo(idTag) };
  // A consistent CSMS tells the same parentIdTag in StartTransaction.conf (it refreshes the cache).
  if (action === "StartTransaction") return { transactionId: ++txId, idTagInfo: idTagInfo(idTag) };
  return undefined;
};

test("TC_068_CS Stop transaction - IdTag matches StartTransaction IdTag", async (t) => {
  const r = await runAuth(t, {
    onCall: hook,
    events: [{ at: "20s", do: "plug" }, { at: "25s", do: "swipe", idTag: "CARD-A" }, { at: "2min", do: "swipe", idTag: "card-a" }, { at: "3min", do: "unplug" }],
    duration: "4min",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  t.is(r.of("Authorize").length, 1, "the same card stops without asking");
  const stops = r.of("StopTransaction");
  t.is(stops.length, 1);
  t.is(stops[0]!.payload["reason"], "Local");
  t.is(stops[0]!.payload["idTag"], "card-a");
  t.true(stops[0]!.t < 125_000);
});

test("TC_069_CS Stop transaction - ParentIdTag matches StartTransaction ParentIdTag", async (t) => {
  const r = await runAuth(t, {
    onCall: hook,
    events: [
      { at: "20s", do: "plug" },
      { at: "25s", do: "swipe", idTag: "CARD-A" },
      { at: "1min", do: "swipe", idTag: "CARD-C" },
      { at: "2min", do: "swipe", idTag: "CARD-B" },
      { at: "3min", do: "unplug" },
    ],
    duration: "4min",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  t.deepEqual(r.of("Authorize").map((c) => c.payload["idTag"]), ["CARD-A", "CARD-C", "CARD-B"]);
  const stops = r.of("StopTransaction");
  t.is(stops.length, 1);
  t.is(stops[0]!.payload["reason"], "Local");
  t.is(stops[0]!.payload["idTag"], "CARD-B");
  t.true(stops[0]!.t >= 120_000 && stops[0]!.t < 125_000, "CARD-C (another group) did not stop it, CARD-B did");
});

test("a card of the same group known from the cache stops without an Authorize.req (LocalPreAuthorize)", async (t) => {
  const r = await runAuth(t, {
    onCall: hook,
    keys: { LocalPreAuthorize: "true" },
    events: [
      // CARD-B gets cached in a first, short session.
      { at: "10s", do: "plug" },
      { at: "12s", do: "swipe", idTag: "CARD-B" },
      { at: "30s", do: "unplug" },
      { at: "40s", do: "plug" },
      { at: "45s", do: "swipe", idTag: "CARD-A" },
      { at: "2min", do: "swipe", idTag: "CARD-B" },
      { at: "3min", do: "unplug" },
    ],
    duration: "4min",
  });
  t.deepEqual(r.sim.csms!.validationFailures, []);
  t.deepEqual(r.of("Authorize").map((c) => c.payload["idTag"]), ["CARD-B", "CARD-A"]);
  const stops = r.of("StopTransaction");
  t.is(stops.length, 2);
  t.is(stops[1]!.payload["idTag"], "CARD-B");
  t.is(stops[1]!.payload["reason"], "Local");
});
