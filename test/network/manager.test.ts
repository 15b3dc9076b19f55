import test from "ava";
import type { LinkInfo, WebSocketClient, WebSocketClientOptions } from "../../hal/index.js";
import { NetworkManager, type Uplink } from "../../firmware/network/manager.js";
import { Scheduler } from "../../simulator/scheduler.js";
import { schedulerTimers } from "../drivers/lte-harness.js";

function fakeLink(name: "wifi" | "lte", opened: string[]): Uplink & { set(state: LinkInfo["state"]): void } {
  let info: LinkInfo = { state: "down", rssi: null, quality: null };
  return {
    name,
    info: () => info,
    set(state) {
      info = { state, rssi: state === "up" ? -60 : null, quality: state === "up" ? 80 : null };
    },
    WebSocketClient: function (this: unknown, _o: WebSocketClientOptions) {
      opened.push(name);
      return { close() {} } as unknown as WebSocketClient;
    } as unknown as Uplink["WebSocketClient"],
  };
}

function rig() {
  const scheduler = new Scheduler();
  const events: Array<[number, string, Record<string, unknown>]> = [];
  const hal = { timers: schedulerTimers(scheduler), clock: { now: () => scheduler.now, wall: () => 0, synchronized: false, setWall() {} }, log: { event: (k: string, f: Record<string, unknown>) => events.push([scheduler.now, k, f]) } };
  const mgr = new NetworkManager(hal as never, { stableMs: 30_000, deadHoldMs: 60_000, reportMs: 0 });
  const opened: string[] = [];
  const wifi = fakeLink("wifi", opened);
  const lte = fakeLink("lte", opened);
  const switches: string[] = [];
  mgr.onSwitch((from, to) => switches.push(`${scheduler.now}:${from ?? "none"}->${to ?? "none"}`));
  return { scheduler, mgr, wifi, lte, opened, switches, events };
}

test("failover at once, failback only after Wi-Fi has been stable for stableMs; a flap restarts the wait", async (t) => {
  const r = rig();
  r.wifi.set("up");
  r.mgr.add(r.wifi);
  r.lte.set("up");
  r.mgr.add(r.lte);
  t.is(r.mgr.active, "wifi");
  await r.scheduler.run(1_000);
  r.wifi.set("down");
  r.mgr.changed("wifi");
  t.is(r.mgr.active, "lte", "failover is immediate");
  await r.scheduler.run(10_000);
  r.wifi.set("up");
  r.mgr.changed("wifi");
  await r.scheduler.run(20_000);
  r.wifi.set("down"); // flap
  r.mgr.changed("wifi");
  r.wifi.set("up");
  r.mgr.changed("wifi");
  await r.scheduler.run(45_000);
  t.is(r.mgr.active, "lte", "the flap restarted the 30 s wait");
  await r.scheduler.run(60_000);
  t.is(r.mgr.active, "wifi");
  t.deepEqual(r.switches, ["0:none->wifi", "1000:wifi->lte", "50000:lte->wifi"]);
  t.is(r.mgr.stats.failovers, 1);
  t.is(r.mgr.stats.failbacks, 1);
  // Connections open on the active link.
  new r.mgr.WebSocketClient({ url: "ws://x/y" });
  t.deepEqual(r.opened, ["wifi"]);
  const st = r.mgr.status();
  t.is(st.active, "wifi");
  t.deepEqual(st.links.map((l) => [l.name, l.state, l.quality]), [["wifi", "up", 80], ["lte", "up", 80]]);
});

test("a link reported dead (pings unanswered) is demoted for deadHoldMs when another is up; never when it is the only one", async (t) => {
  const r = rig();
  r.wifi.set("up");
  r.mgr.add(r.wifi);
  r.mgr.add(r.lte);
  r.mgr.reportDead("no pong");
  t.is(r.mgr.active, "wifi", "no other link: stay");
  r.lte.set("up");
  r.mgr.changed("lte");
  r.mgr.reportDead("no pong");
  t.is(r.mgr.active, "lte");
  t.true(r.mgr.status().links[0]!.demoted);
  await r.scheduler.run(59_000);
  t.is(r.mgr.active, "lte");
  await r.scheduler.run(85_000);
  t.is(r.mgr.active, "lte", "hold over at 60 s, then 30 s of stability are still needed");
  await r.scheduler.run(91_000);
  t.is(r.mgr.active, "wifi", "back after the hold and the stable time");
});

test("with no link up a connection fails on the next turn with ENETDOWN", async (t) => {
  const r = rig();
  r.mgr.add(r.wifi);
  const errors: string[] = [];
  new r.mgr.WebSocketClient({ url: "ws://x/y", onError: (e) => errors.push(e.code) });
  t.deepEqual(errors, []);
  await r.scheduler.run(1);
  t.deepEqual(errors, ["ENETDOWN"]);
});
