import test from "ava";
import { start, type FirmwareHandle } from "../../firmware/main.js";
import { Site, type SiteChargerSpec } from "../../simulator/site.js";
import { findMosquitto, startMosquitto, type Broker } from "../support/mosquitto.js";

const LIMIT = 40;
const FAILSAFE = 6;
const REACTION = 6_000;
const SILENCE = 6_000;
const siteConfig = { siteFailsafeCurrent: FAILSAFE, siteReactionMs: REACTION, siteSilenceTimeoutMs: SILENCE, siteHeartbeatMs: 1_000, siteRotationMs: 60_000 };

const boot = () => (hal: Parameters<typeof start>[0], config: Record<string, unknown>) => start(hal, config);

async function withBroker(body: (b: Broker) => Promise<void>): Promise<void> {
  const broker = await startMosquitto();
  if (!broker) throw new Error("mosquitto vanished");
  try {
    await body(broker);
  } finally {
    await broker.stop();
  }
}

function fw(site: Site, i: number): FirmwareHandle {
  return site.handles[i] as FirmwareHandle;
}

if (!findMosquitto()) {
  test("mosquitto is required (a real broker) and could not be installed: apt-get install mosquitto", (t) => {
    t.fail("no mosquitto binary, and installing Debian's package failed (not root, or no apt-get)");
  });
} else {
  test("leader mode, 5 chargers: the site limit holds through a charger power cut and a broker kill", async (t) => {
    await withBroker(async (broker) => {
      const chargers: SiteChargerSpec[] = [
        { plugAt: 5_000, ev: { maxCurrent: 32 }, powerCutAt: 90_000 },
        { plugAt: 6_000, ev: { maxCurrent: 32 } },
        { plugAt: 20_000, ev: { maxCurrent: 32, phases: 1 } },
        { plugAt: 30_000, ev: { maxCurrent: 32 } },
        { plugAt: 40_000, ev: { maxCurrent: 32 } },
      ];
      const site = await Site.create({ chargers, broker: { host: "127.0.0.1", port: broker.port }, mode: "leader", limit: LIMIT, durationMs: 180_000, config: siteConfig });
      const log: string[] = [];
      let killedAt = -1;
      site.scheduler.at(150_000, () => {
        killedAt = site.scheduler.now;
        site.bus.holdUntilDisconnected();
        void broker.kill("SIGKILL");
      });
      site.onSample = (s) => {
        if (s.t % 10_000 === 0) log.push(`${s.t} ${s.lines.map((a) => a.toFixed(1)).join(" ")} | ${site.handles.map((h, i) => (i === 0 && s.t >= 90_000 ? "-" : (h as FirmwareHandle).status().limit.amps)).join(" ")}`);
      };
      try {
        const r = await site.run(boot);
        t.log(log.join("\n"));
        t.log(`longest over ${r.longestOverMs} ms, max line ${r.maxLineAmps} A, bus ${JSON.stringify(site.bus.stats)}`);
        t.deepEqual(r.problems, []);
        t.true(r.longestOverMs <= REACTION, `over the limit for ${r.longestOverMs} ms`);
        t.true(killedAt > 0);
        for (let i = 1; i < 5; i++) {
          const st = fw(site, i).site!.status();
          t.true(st.failsafe, `${site.ids[i]} in failsafe`);
          t.true(fw(site, i).status().limit.amps <= FAILSAFE);
        }
      } finally {
        await site.close();
      }
    });
  });

  test("meter mode, 5 chargers and a household load: limit held; a silent feed gives the failsafe within one silence timeout", async (t) => {
    await withBroker(async (broker) => {
      const chargers: SiteChargerSpec[] = [0, 1, 2, 3, 4].map((i) => ({ plugAt: 3_000 + i * 7_000, ev: { maxCurrent: 32 } }));
      const site = await Site.create({
        chargers,
        broker: { host: "127.0.0.1", port: broker.port },
        mode: "meter",
        limit: LIMIT,
        durationMs: 120_000,
        config: siteConfig,
        meter: { periodMs: 1_000, baseLoad: [5, 3, 0] },
      });
      const silentAt = 100_000;
      let failsafeAt = -1;
      site.scheduler.at(silentAt, () => site.meterFaults!.blackhole(true));
      site.onSample = (s) => {
        if (s.t > silentAt && failsafeAt < 0 && site.handles.every((h) => (h as FirmwareHandle).status().signalledAmps <= FAILSAFE)) failsafeAt = s.t;
      };
      try {
        const r = await site.run(boot);
        t.deepEqual(r.problems, []);
        t.true(r.longestOverMs <= REACTION, `over the limit for ${r.longestOverMs} ms`);
        t.true(r.maxLineAmps > LIMIT * 0.7, `the site budget is used (max ${r.maxLineAmps} A)`);
        // The last reading arrived at most one meter period before the feed went silent.
        t.true(failsafeAt > 0 && failsafeAt - silentAt <= SILENCE + 100, `failsafe ${failsafeAt - silentAt} ms after the feed went silent`);
        for (let i = 0; i < 5; i++) t.true(fw(site, i).site!.status().failsafe);
      } finally {
        await site.close();
      }
    });
  });
}
