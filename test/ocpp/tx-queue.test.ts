import test from "ava";
import { MemoryTxStore, TxQueue, type TxAction } from "../../firmware/ocpp/transactions/queue.js";
import { RpcError } from "../../firmware/ocpp/rpc/errors.js";

test("the RAM store is bounded: meter values are dropped first, starts and stops never", (t) => {
  const store = new MemoryTxStore(5);
  store.append({ action: "StartTransaction", session: 1, payload: {}, droppable: false, attempts: 0 });
  for (let i = 0; i < 10; i++) store.append({ action: "MeterValues", session: 1, payload: { i }, droppable: true, attempts: 0 });
  store.append({ action: "StopTransaction", session: 1, payload: {}, droppable: false, attempts: 0 });
  const all = store.all();
  t.is(all.length, 5);
  t.is(all[0]!.action, "StartTransaction");
  t.is(all.at(-1)!.action, "StopTransaction");
  t.deepEqual(all.slice(1, 4).map((m) => m.payload["i"]), [7, 8, 9]);
  t.is(store.dropped, 7);
});

test("the queue sends in order, one at a time, applies the transactionId, and resends after a lost connection", (t) => {
  const store = new MemoryTxStore();
  const sent: Array<[TxAction, Record<string, unknown>]> = [];
  let ready = false;
  let pending: ((e: RpcError | null, r: Record<string, unknown> | null) => void) | null = null;
  const q = new TxQueue(store, {
    send: (action, payload, done) => {
      sent.push([action, payload]);
      pending = done;
    },
    ready: () => ready,
  }, { maxAttempts: 3, onStartConf: () => {}, onGiveUp: () => {} });
  q.enqueue("StartTransaction", 1, { idTag: "A", meterStart: 0 });
  q.enqueue("MeterValues", 1, { connectorId: 1 }, true);
  q.enqueue("StopTransaction", 1, { meterStop: 10 });
  t.is(sent.length, 0, "nothing goes out while offline");
  ready = true;
  q.pump();
  t.is(sent.length, 1);
  // The connection drops with the start in flight: it is resent, not lost.
  pending!(new RpcError("GenericError", "lost", { transport: true }), null);
  q.pump();
  t.is(sent.length, 2);
  t.is(sent[1]![0], "StartTransaction");
  pending!(null, { transactionId: 42, idTagInfo: { status: "Accepted" } });
  t.deepEqual(sent[2], ["MeterValues", { connectorId: 1, transactionId: 42 }]);
  pending!(null, {});
  t.deepEqual(sent[3], ["StopTransaction", { meterStop: 10, transactionId: 42 }]);
  pending!(null, {});
  t.is(q.length, 0);
});
