/** The local list and cache storage: power cuts at every write of an update, figures, bounds, garbage. */
import test from "ava";
import { AuthCache } from "../../firmware/ocpp/v16/features/auth/cache.js";
import { LocalAuthList, LIST_BUCKETS } from "../../firmware/ocpp/v16/features/auth/local-list.js";
import { decodeAll, encodeEntry, type AuthEntry } from "../../firmware/ocpp/v16/features/auth/records.js";
import { PowerCutError } from "../../simulator/storage/index.js";
import { SimKeyValue } from "../../simulator/storage/kv.js";

const item = (idTag: string, status = "Accepted", extra: Record<string, unknown> = {}) => ({ idTag, idTagInfo: { status, ...extra } });
const tags = (list: LocalAuthList, names: string[]) => names.map((n) => list.lookup(n)?.status ?? null);

test("records: length-prefixed fields round-trip any idTag content; figures", (t) => {
  const e: AuthEntry[] = [
    { idTag: "ABCDEFGHIJKLMNOPQRST", status: "Accepted", expiry: 0, parentIdTag: null },
    { idTag: "a|b;c\n\u0001", status: "Blocked", expiry: 1_900_000_000, parentIdTag: "PARENT-TAG-20-CHARS!" },
    { idTag: "é€😀", status: "ConcurrentTx", expiry: 1, parentIdTag: "x" },
  ];
  const s = e.map(encodeEntry).join("");
  t.deepEqual(decodeAll(s), { entries: e, damaged: false });
  t.is(encodeEntry(e[0]!).length, 24, "20-character idTag, no expiry, no parent: 24 bytes");
  t.is(encodeEntry({ ...e[0]!, expiry: 1_900_000_000, parentIdTag: "PARENT-TAG-20-CHARS!" }).length, 50, "with expiry and a 20-character parent: 50 bytes");
  t.deepEqual(decodeAll(s.slice(0, -3)).damaged, true);
  t.deepEqual(decodeAll("\u00ff\u00ff").entries, []);
});

test("local list: Full and Differential semantics, case-insensitive ids, reload from the store", (t) => {
  const kv = new SimKeyValue();
  const store = kv.open({ path: "ocpp" });
  const list = new LocalAuthList(store, 10);
  t.is(list.listVersion, 0);
  t.is(list.update("Full", 3, [item("a1"), item("B2", "Blocked"), item("c3", "Accepted", { expiryDate: "2030-01-01T00:00:00Z", parentIdTag: "P" })]), "Accepted");
  t.deepEqual(tags(list, ["A1", "b2", "C3", "d4"]), ["Accepted", "Blocked", "Accepted", null]);
  t.is(list.lookup("c3")!.parentIdTag, "P");
  t.is(list.lookup("c3")!.expiry, Date.UTC(2030, 0, 1) / 1000);
  t.is(list.update("Differential", 3, [item("d4")]), "VersionMismatch");
  t.is(list.update("Differential", 4, [{ idTag: "A1" }, item("d4"), item("b2")]), "Accepted");
  t.deepEqual(tags(list, ["a1", "b2", "c3", "d4"]), [null, "Accepted", "Accepted", "Accepted"]);
  t.is(list.size, 3);
  // Limits: more than maxEntries, a bad expiry, a lone surrogate: Failed, nothing changed.
  t.is(list.update("Differential", 5, Array.from({ length: 8 }, (_, i) => item(`n${i}`))), "Failed");
  t.is(list.update("Differential", 5, [item("e5", "Accepted", { expiryDate: "yesterday" })]), "Failed");
  t.is(list.update("Differential", 5, [item("\ud800x")]), "Failed");
  t.is(list.update("Full", -1, []), "Failed");
  t.is(list.listVersion, 4);
  const again = new LocalAuthList(store, 10);
  t.is(again.listVersion, 4);
  t.deepEqual(tags(again, ["a1", "b2", "c3", "d4"]), [null, "Accepted", "Accepted", "Accepted"]);
  // Only live slots remain in the store: one bucket key per non-empty bucket plus the header.
  const keys = store.keys().filter((k) => k.startsWith("la"));
  t.true(keys.length <= LIST_BUCKETS + 1);
});

test("local list: a power cut at every store operation of an update leaves exactly the old or the new list", (t) => {
  const before = [item("OLD-1"), item("OLD-2"), item("SHARED", "Blocked")];
  const update = Array.from({ length: 40 }, (_, i) => item(`NEW-${i}`)).concat([item("SHARED")]);
  const oldView = ["OLD-1", "OLD-2", "SHARED", "NEW-0", "NEW-39"];
  let cutsSeen = 0;
  let sawOld = 0;
  let sawNew = 0;
  for (let op = 1; op < 200; op++) {
    for (const when of ["before", "during", "after"] as const) {
      const kv = new SimKeyValue({ seed: op });
      const list = new LocalAuthList(kv.open({ path: "ocpp" }), 256);
      t.is(list.update("Full", 1, before), "Accepted");
      const base = kv.domain.countOps();
      kv.domain.schedule({ op: base + op, when });
      let cut = false;
      try {
        const status = list.update("Full", 2, update);
        // A cut that fires inside update() makes it answer Failed (the store threw).
        if (status !== "Accepted") cut = true;
      } catch (e) {
        t.true(e instanceof PowerCutError);
        cut = true;
      }
      if (!cut && kv.domain.cuts === 0) {
        // Past the last operation: nothing to cut any more.
        if (when === "after") {
          t.true(op > 10, `the update took ${op} operations`);
          t.is(cutsSeen > 0, true);
          t.true(sawOld > 0 && sawNew > 0);
          return;
        }
        continue;
      }
      cutsSeen++;
      kv.domain.reboot();
      const reopened = new LocalAuthList(kv.open({ path: "ocpp" }), 256);
      const view = tags(reopened, oldView);
      if (reopened.listVersion === 1) {
        sawOld++;
        t.deepEqual(view, ["Accepted", "Accepted", "Blocked", null, null], `cut ${when} op ${op}`);
      } else {
        sawNew++;
        t.is(reopened.listVersion, 2);
        t.deepEqual(view, [null, null, "Accepted", "Accepted", "Accepted"], `cut ${when} op ${op}`);
        t.is(reopened.size, 41);
      }
      // The store holds no stale spare slots after a reload.
      t.true(kv.open({ path: "ocpp" }).keys().filter((k) => k.startsWith("la")).length <= LIST_BUCKETS + 1);
    }
  }
  t.fail("the update never completed");
});

test("local list: storage figures for a full list of 256 typical and worst-case ids", (t) => {
  const kv = new SimKeyValue();
  const store = kv.open({ path: "ocpp" });
  const list = new LocalAuthList(store, 256);
  const typical = Array.from({ length: 64 }, (_, i) => item(`04A2${(0x1000000 + i * 7919).toString(16).toUpperCase()}`));
  t.is(list.update("Full", 1, typical), "Accepted");
  for (let v = 2; v <= 4; v++) {
    const more = Array.from({ length: 64 }, (_, i) => item(`04B${v}${(0x1000000 + i * 104729).toString(16).toUpperCase()}`));
    t.is(list.update("Differential", v, more), "Accepted");
  }
  t.is(list.size, 256);
  const typicalBytes = list.storedBytes();
  t.log(`256 ids of 11 characters: ${typicalBytes} bytes (${(typicalBytes / 256).toFixed(1)} per entry)`);
  t.true(typicalBytes / 256 <= 15.1);
  const worst = new LocalAuthList(new SimKeyValue().open({ path: "ocpp" }), 256);
  const full = (p: string, n: number) => Array.from({ length: n }, (_, i) => item(`${p}${String(i).padStart(20 - p.length, "0")}`, "Accepted", { expiryDate: "2031-06-01T00:00:00Z", parentIdTag: "PARENT-ID-TAG-XXXXXX" }));
  t.is(worst.update("Full", 1, full("W", 64)), "Accepted");
  for (let v = 2; v <= 4; v++) t.is(worst.update("Differential", v, full(`W${v}`, 64)), "Accepted");
  t.log(`256 ids of 20 characters with expiry and parent: ${worst.storedBytes()} bytes (${(worst.storedBytes() / 256).toFixed(1)} per entry)`);
  t.is(worst.storedBytes(), 256 * 50);
  // A 257th entry is refused.
  t.is(worst.update("Differential", 5, [item("ONE-MORE")]), "Failed");
});

test("cache: bounded, evicts invalid then least recently used entries, persists content changes only", (t) => {
  const kv = new SimKeyValue();
  const store = kv.open({ path: "ocpp" });
  const cache = new AuthCache(store, 3);
  const now = 1_800_000_000;
  cache.put({ idTag: "A", status: "Accepted", expiry: 0, parentIdTag: null }, now);
  cache.put({ idTag: "B", status: "Blocked", expiry: 0, parentIdTag: null }, now);
  cache.put({ idTag: "C", status: "Accepted", expiry: now - 1, parentIdTag: null }, now);
  const sets = kv.sets;
  t.is(cache.get("a")!.status, "Accepted");
  cache.put({ idTag: "A", status: "Accepted", expiry: 0, parentIdTag: null }, now);
  t.is(kv.sets, sets, "an unchanged entry writes nothing");
  cache.put({ idTag: "D", status: "Accepted", expiry: 0, parentIdTag: null }, now);
  t.is(cache.get("B"), null, "the Blocked entry went first");
  cache.put({ idTag: "E", status: "Accepted", expiry: 0, parentIdTag: null }, now);
  t.is(cache.get("C"), null, "then the expired one");
  cache.put({ idTag: "F", status: "Accepted", expiry: 0, parentIdTag: null }, now);
  t.is(cache.size, 3);
  t.is(cache.get("A"), null, "then the least recently used");
  const reloaded = new AuthCache(kv.open({ path: "ocpp" }), 3);
  t.deepEqual(["D", "E", "F"].map((x) => reloaded.get(x)?.status), ["Accepted", "Accepted", "Accepted"]);
  reloaded.clear();
  t.is(new AuthCache(kv.open({ path: "ocpp" }), 3).size, 0);
  // Garbage in the store: dropped, reported.
  store.set("ac", "\u0032AB\u0030\u0030" + "zz");
  const damaged = new AuthCache(kv.open({ path: "ocpp" }), 3);
  t.is(damaged.size, 0);
  t.deepEqual(damaged.problems, ["damaged cache record dropped"]);
});
