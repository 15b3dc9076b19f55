import test from "ava";
import type { Clock, Hal, TimerId } from "../../hal/index.js";
import { ClockPolicy } from "../../firmware/time/clock-policy.js";
import { SntpClient, parseServers, parseSntpReply, readNtpTime, sntpRequest, writeNtpTime } from "../../firmware/time/sntp.js";
import { createSimNetwork } from "../../simulator/net/index.js";
import { Scheduler } from "../../simulator/scheduler.js";
import { SntpServer, sntpRequestExpectsReply } from "../../simulator/sntp.js";

const TRUTH = Date.UTC(2025, 5, 1, 12);

/** A minimal HAL in virtual time: a device RTC that is `rtcErrorMs` off and runs `ppm` slow. */
function rig(rtcErrorMs: number, ppm = 0) {
  const scheduler = new Scheduler({ holdTimeoutMs: 5000 });
  const net = createSimNetwork({ scheduler, expectsReply: sntpRequestExpectsReply });
  let rtcOffset = TRUTH + rtcErrorMs;
  const mono = () => Math.floor(scheduler.now * (1 - ppm * 1e-6));
  const clock: Clock = {
    now: mono,
    wall: () => rtcOffset + mono(),
    synchronized: false,
    setWall(ms: number) {
      rtcOffset = ms - mono();
    },
  };
  let seq = 0;
  const timers = new Map<number, number>();
  const hal = {
    clock,
    timers: {
      set(cb: (id: TimerId) => void, delay: number, repeat = 0): TimerId {
        const id = ++seq;
        const fire = () => {
          if (repeat > 0) timers.set(id, scheduler.after(repeat, fire));
          else timers.delete(id);
          cb(id);
        };
        timers.set(id, scheduler.after(delay, fire));
        return id;
      },
      clear(id: TimerId) {
        const e = timers.get(id);
        if (e !== undefined) scheduler.cancel(e);
        timers.delete(id);
      },
    },
    crypto: { randomBytes: (n: number) => new Uint8Array(n).map((_, i) => (i * 37 + seq * 11) & 0xff).buffer },
    network: net,
    log: { event() {} },
  } as unknown as Hal;
  return { scheduler, net, hal, truth: () => TRUTH + scheduler.now };
}

test("packet codec: NTP timestamps round-trip; era pivot; request layout", (t) => {
  const v = new DataView(new ArrayBuffer(8));
  for (const ms of [0, 1, 1_700_000_000_123, Date.UTC(2036, 1, 7, 6, 28, 16, 500), Date.UTC(2040, 0, 1)]) {
    writeNtpTime(v, 0, ms);
    if (ms === 0) continue;
    t.true(Math.abs(readNtpTime(v, 0) - ms) < 1, `round trip ${ms}`);
  }
  const req = sntpRequest(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
  t.is(req.length, 48);
  t.is(req[0], 0x23);
  t.deepEqual([...req.subarray(40, 48)], [1, 2, 3, 4, 5, 6, 7, 8]);
});

test("reply validation: mode, stratum 0 (kiss-o'-death), LI 3, originate, short", (t) => {
  const cookie = new Uint8Array([9, 9, 9, 9, 9, 9, 9, 9]);
  const good = () => {
    const b = new Uint8Array(48);
    b[0] = (0 << 6) | (4 << 3) | 4;
    b[1] = 2;
    b.set(cookie, 24);
    const v = new DataView(b.buffer);
    writeNtpTime(v, 32, TRUTH);
    writeNtpTime(v, 40, TRUTH + 1);
    return b;
  };
  t.is(typeof parseSntpReply(good().buffer, cookie), "object");
  const m = good();
  m[0] = 0x23;
  t.is(parseSntpReply(m.buffer, cookie), "mode 3");
  const k = good();
  k[1] = 0;
  t.is(parseSntpReply(k.buffer, cookie), "kiss-o'-death");
  const l = good();
  l[0] = 0xe4;
  t.is(parseSntpReply(l.buffer, cookie), "server unsynchronised");
  const o = good();
  o[24] = 0;
  t.is(parseSntpReply(o.buffer, cookie), "originate mismatch");
  t.is(parseSntpReply(new ArrayBuffer(20), cookie), "short packet");
  t.throws(() => parseServers("ntp.example.org"), { instanceOf: RangeError });
  t.deepEqual(parseServers("10.0.0.1, 127.0.0.1:1234"), [
    { address: "10.0.0.1", port: 123 },
    { address: "127.0.0.1", port: 1234 },
  ]);
});

test("SNTP in virtual time: a device 42 s off is stepped to the simulated wall clock, then kept by polls", async (t) => {
  const r = rig(42_000);
  const server = await SntpServer.start({ clock: r.truth });
  try {
    const policy = new ClockPolicy(r.hal.clock, { stepThresholdMs: 1000, maxSlewPpm: 500, outlierMs: 10_000, validityMs: 86_400_000 });
    const verdicts: string[] = [];
    policy.listen((v, s) => verdicts.push(`${v}/${s}`));
    const sntp = new SntpClient(r.hal, policy, { servers: parseServers(server.address), pollMs: 64_000 });
    sntp.start();
    await r.scheduler.run(1_500);
    t.true(policy.synchronized);
    t.is(policy.wall(), r.truth(), "exactly the server's time (T2 = T3 = the request's virtual instant)");
    t.deepEqual(verdicts, ["step/sntp"]);
    await r.scheduler.run(1_000 + 64_000 * 3 + 500);
    sntp.stop();
    t.is(sntp.stats.requests, 4);
    t.is(sntp.stats.replies, 4);
    t.deepEqual(verdicts, ["step/sntp", "refresh/sntp", "refresh/sntp", "refresh/sntp"]);
    t.is(server.requests, 4);
  } finally {
    r.net.shutdown();
    await server.close();
  }
});

test("SNTP drift: a 200 ppm slow oscillator is measured and compensated between polls", async (t) => {
  const r = rig(0, 200);
  const server = await SntpServer.start({ clock: r.truth });
  try {
    const policy = new ClockPolicy(r.hal.clock, { stepThresholdMs: 1000, maxSlewPpm: 500, outlierMs: 10_000, validityMs: 86_400_000, driftMinIntervalMs: 600_000, maxDriftPpm: 500 });
    const sntp = new SntpClient(r.hal, policy, { servers: parseServers(server.address), pollMs: 1_024_000 });
    sntp.start();
    await r.scheduler.run(4 * 1_024_000 + 2_000);
    const st = policy.status();
    t.true(Math.abs(st.driftPpm - 200) < 5, `drift ${st.driftPpm}`);
    // half a poll period later the error stays far below what 200 ppm alone gives (102 ms)
    await r.scheduler.run(4 * 1_024_000 + 2_000 + 512_000);
    const err = policy.wall() - r.truth();
    t.true(Math.abs(err) < 20, `error ${err} ms`);
    sntp.stop();
  } finally {
    r.net.shutdown();
    await server.close();
  }
});

test("bad servers: kiss-o'-death, spoofed originate and silence fail over to the next server; a wrong server needs confirmation", async (t) => {
  const r = rig(0);
  const kod = await SntpServer.start({ clock: r.truth, stratum: 0 });
  const spoof = await SntpServer.start({ clock: r.truth, badOrigin: true });
  const good = await SntpServer.start({ clock: r.truth });
  const wrong = await SntpServer.start({ clock: r.truth, offsetMs: 3_600_000 });
  try {
    const policy = new ClockPolicy(r.hal.clock, { stepThresholdMs: 1000, maxSlewPpm: 500, outlierMs: 10_000, validityMs: 86_400_000 });
    const sntp = new SntpClient(r.hal, policy, { servers: parseServers(`${kod.address},${spoof.address},${good.address}`), pollMs: 600_000, timeoutMs: 2_000 });
    sntp.start();
    await r.scheduler.run(10_000);
    t.is(kod.requests, 1);
    t.is(spoof.requests, 1);
    t.is(good.requests, 1);
    t.is(sntp.stats.rejected, 2);
    t.is(sntp.stats.timeouts, 2);
    t.true(policy.synchronized);
    t.is(policy.wall(), r.truth());
    sntp.stop();
    // now a server an hour off: rejected once, taken when it says the same again
    const bad = new SntpClient(r.hal, policy, { servers: parseServers(wrong.address), pollMs: 60_000 });
    bad.start();
    await r.scheduler.run(12_000);
    t.is(policy.status().outliers, 1);
    t.true(Math.abs(policy.wall() - r.truth()) < 10);
    await r.scheduler.run(12_000 + 60_000);
    t.is(policy.wall(), r.truth() + 3_600_000, "confirmed by a second sample");
    bad.stop();
  } finally {
    r.net.shutdown();
    for (const s of [kod, spoof, good, wrong]) await s.close();
  }
});
