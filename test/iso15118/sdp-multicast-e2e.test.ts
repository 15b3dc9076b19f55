/**
 * SDP the way a real SECC does it, end to end in virtual time: the simulated car sends its SDP request from its
 * link-local address to ff02::1; the SECC's SDP server (bound to "::", joined to ff02::1 on the PLC interface)
 * answers with the PLC interface's link-local address from the HAL (hal.network.plcInterface); the car connects
 * V2GTP to that address and a message passes both ways. Also: ::1 when the HAL does not know the address, an
 * explicit v2gAddress winning, and the SDP server's join reporting (unit level).
 */
import test from "ava";
import type { Hal, Listener, ListenerOptions, Network, UDP, UDPOptions, UDPPacket } from "../../hal/index.js";
import { start } from "../../firmware/main.js";
import type { V2gChannel } from "../../firmware/iso15118/index.js";
import { SdpServer } from "../../firmware/iso15118/secc/sdp-server.js";
import { encodeSdpRequest, formatIpv6, parseSdpResponse, SDP_SECURITY_NONE, SDP_TRANSPORT_TCP } from "../../firmware/iso15118/sdp/sdp.js";
import { PAYLOAD_EXI } from "../../firmware/iso15118/v2gtp/header.js";
import type { EvccChannel, EvccHook } from "../../simulator/evcc/evcc.js";
import { SimPlcInterface } from "../../simulator/net/link-local.js";
import { parseScenario } from "../../simulator/scenario.js";
import { Simulation } from "../../simulator/simulation.js";

const BOARD = `"board": { "plcModem": { "chip": "qca7000", "spi": { "hz": 8000000, "mode": 3, "select": 2 }, "irq": 12 } }`;
const SECC_MAC = Uint8Array.from([0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e]);
const SECC_LL = "fe80::21a:2bff:fe3c:4d5e";
/** The simulated car's default host MAC 02:00:00:ee:00:01 → EUI-64. */
const CAR_LL = "fe80::ff:feee:1";
const REQ = Uint8Array.from([0x80, 0x00, 0xdb, 0xab]);
const RES = Uint8Array.from([0x80, 0x40, 0x00, 0x40]);

function scenario(config: Record<string, unknown>) {
  return parseScenario(`{
    "name": "sdp-multicast", "seed": 5, "duration": "30s", ${BOARD},
    "config": ${JSON.stringify({ hlcEnabled: true, freeCharging: true, ...config })},
    "ev": { "hlc": true, "maxCurrent": 16 },
    "events": [{ "at": "2s", "do": "plug" }, { "at": "25s", "do": "unplug" }]
  }`);
}

interface Seen {
  /** What the SECC's sockets did, in order: UDP binds, group joins, datagrams in (from), SDP answers (announced), listener binds. */
  secc: string[];
  ev: string[];
  steps: string[];
  problems: string[];
  firmwareErrors: string[];
  holdTimeouts: number;
}

/** Wraps the firmware's network to record what the SECC does with UDP and Listener. */
function recording(network: Hal["network"], secc: string[]): Hal["network"] {
  const UDPClass = network.UDP;
  const ListenerClass = network.Listener!;
  const UDPRec = function (o: UDPOptions): UDP {
    secc.push(`udp bind ${o.address ?? "(default)"}`);
    const onReadable = o.onReadable;
    // The SECC's callbacks get the wrapper as `this`, so its reads are recorded.
    const u = new UDPClass({ ...o, ...(onReadable ? { onReadable: (n: number) => onReadable.call(wrapper, n) } : {}) });
    const wrapper: UDP = {
      write(b, address, port) {
        const r = parseSdpResponse(b instanceof Uint8Array ? b : new Uint8Array(b as ArrayBuffer));
        secc.push(typeof r === "string" ? `udp write ${address}` : `sdp answer ${formatIpv6(r.address)} to ${address}`);
        u.write(b, address, port);
      },
      read(): UDPPacket | undefined {
        const p = u.read();
        if (p) secc.push(`udp in from ${p.address}`);
        return p;
      },
      ...(u.add
        ? {
            add(g: string) {
              secc.push(`join ${g}`);
              u.add!(g);
            },
          }
        : {}),
      close() {
        u.close();
      },
    };
    return wrapper;
  } as unknown as Network["UDP"];
  const ListenerRec = function (o: ListenerOptions): Listener {
    secc.push(`listen ${o.address ?? "(default)"}`);
    return new ListenerClass(o);
  } as unknown as NonNullable<Network["Listener"]>;
  return { ...network, UDP: UDPRec, Listener: ListenerRec };
}

async function run(config: Record<string, unknown>, plc: SimPlcInterface | null): Promise<Seen> {
  const seen: Seen = { secc: [], ev: [], steps: [], problems: [], firmwareErrors: [], holdTimeouts: 0 };
  let sim!: Simulation;
  const hook: EvccHook = {
    connected(ch: EvccChannel) {
      seen.ev.push(`${sim.scheduler.now} connected`);
      ch.send(PAYLOAD_EXI, REQ);
    },
    message(type, payload) {
      seen.ev.push(`${sim.scheduler.now} message ${type.toString(16)} ${Buffer.from(payload).toString("hex")}`);
    },
  };
  sim = await Simulation.create({ scenario: scenario(config), evccHook: hook });
  try {
    const result = await sim.run((hal, cfg) => {
      const network = recording(plc ? { ...hal.network, plcInterface: plc.info } : hal.network, seen.secc);
      const handle = start({ ...hal, network }, cfg);
      const h = handle.hlc;
      if (h) {
        h.secc.events.channel = (ch: V2gChannel) => {
          ch.attach({
            onMessage(type, payload, c) {
              seen.secc.push(`message ${type.toString(16)} ${Buffer.from(payload).toString("hex")}`);
              c.setupDone();
              c.send(PAYLOAD_EXI, RES);
            },
          });
        };
      }
      return handle;
    });
    seen.steps = sim.trace.events.filter((e) => e.kind === "hlc" && e["event"] !== "modem").map((e) => String(e["event"]) + (e["source"] ? `:${String(e["source"])}` : ""));
    seen.problems = result.problems;
    seen.firmwareErrors = result.firmwareErrors;
    seen.holdTimeouts = sim.scheduler.stats.holdTimeouts;
  } finally {
    await sim.close();
  }
  return seen;
}

test("SDP via ff02::1 end to end: the car multicasts from its link-local address, the SECC announces the PLC interface's link-local address, V2GTP connects to it", async (t) => {
  const plc = new SimPlcInterface({ mac: SECC_MAC });
  const s = await run({ v2gSdpAddress: "", v2gAddress: "" }, plc);
  t.deepEqual(s.problems, []);
  t.deepEqual(s.firmwareErrors, []);
  t.is(s.holdTimeouts, 0);
  t.deepEqual(s.steps.slice(0, 6), ["slac", "matched", "address:hal", "joined", "sdp", "connected"]);
  // The SECC: bound to ::, joined ff02::1 on plc0, got the car's request from its link-local address, answered it
  // there with its own link-local address, listening on that address with the interface as zone.
  t.deepEqual(s.secc.slice(0, 6), [
    "udp bind ::",
    "join ff02::1%plc0",
    `listen ${SECC_LL}%plc0`,
    `udp in from ${CAR_LL}`,
    `sdp answer ${SECC_LL} to ${CAR_LL}`,
    "message 8001 8000dbab",
  ]);
  t.is(s.ev.length, 2);
  t.regex(s.ev[0]!, / connected$/);
  t.regex(s.ev[1]!, / message 8001 80400040$/);
  const again = await run({ v2gSdpAddress: "", v2gAddress: "" }, new SimPlcInterface({ mac: SECC_MAC }));
  t.deepEqual(again, s, "a second run is identical");
});

test("SDP via ff02::1 without the HAL's interface: joined without zone, ::1 announced (logged as the default)", async (t) => {
  const s = await run({ v2gSdpAddress: "", v2gAddress: "" }, null);
  t.deepEqual(s.problems, []);
  t.is(s.holdTimeouts, 0);
  t.deepEqual(s.steps.slice(0, 6), ["slac", "matched", "address:default", "joined", "sdp", "connected"]);
  t.deepEqual(s.secc.slice(0, 5), ["udp bind ::", "join ff02::1", "listen ::1", `udp in from ${CAR_LL}`, `sdp answer ::1 to ${CAR_LL}`]);
  t.regex(s.ev[1]!, / message 8001 80400040$/);
});

test("an explicit v2gAddress wins over the HAL's link-local address; an interface without an address yet is not used", async (t) => {
  const s = await run({ v2gSdpAddress: "", v2gAddress: "::1" }, new SimPlcInterface({ mac: SECC_MAC }));
  t.deepEqual(s.steps.slice(0, 5), ["slac", "matched", "joined", "sdp", "connected"]);
  t.deepEqual(s.secc.slice(0, 5), ["udp bind ::", "join ff02::1%plc0", "listen ::1", `udp in from ${CAR_LL}`, `sdp answer ::1 to ${CAR_LL}`]);
  const down = new SimPlcInterface({ mac: SECC_MAC, up: false });
  const d = await run({ v2gSdpAddress: "", v2gAddress: "" }, down);
  t.deepEqual(d.steps.slice(0, 3), ["slac", "matched", "address:default"]);
  t.true(d.secc.includes("listen ::1"));
  t.regex(d.ev[1]!, / message 8001 80400040$/);
});

test("SdpServer: joins the group with the HAL's add(); a HAL without add() or a failing join is reported as EMULTICAST, unicast still answered", (t) => {
  const made: { o: UDPOptions; joined: string[]; sent: string[]; inbox: UDPPacket[] }[] = [];
  const classWith = (add: "ok" | "none" | "throws") =>
    function (o: UDPOptions) {
      const rec = { o, joined: [] as string[], sent: [] as string[], inbox: [] as UDPPacket[] };
      made.push(rec);
      const u = {
        write(_b: unknown, address: string, port: number) {
          rec.sent.push(`${address}:${port}`);
        },
        read: () => rec.inbox.shift(),
        close() {},
        ...(add === "none"
          ? {}
          : {
              add(g: string) {
                if (add === "throws") throw new Error("invalid IP address");
                rec.joined.push(g);
              },
            }),
      };
      return u;
    } as unknown as Network["UDP"];
  const answer = () => ({ address: new Uint8Array(16), port: 50000, security: SDP_SECURITY_NONE, transport: SDP_TRANSPORT_TCP });
  for (const [kind, joined, errors] of [
    ["ok", true, []],
    ["none", false, ["EMULTICAST"]],
    ["throws", false, ["EMULTICAST"]],
  ] as const) {
    const errs: string[] = [];
    const s = new SdpServer({ UDP: classWith(kind), port: 15118, address: "::", multicast: "ff02::1%plc0", answer, onError: (c) => errs.push(c) });
    const rec = made[made.length - 1]!;
    t.is(s.joined, joined, kind);
    t.deepEqual(errs, [...errors], kind);
    t.deepEqual(rec.joined, kind === "ok" ? ["ff02::1%plc0"] : []);
    // A request still gets its answer (to the sender).
    rec.inbox.push({ data: encodeSdpRequest({ security: SDP_SECURITY_NONE, transport: SDP_TRANSPORT_TCP }).slice().buffer, address: "fe80::1", port: 4000 });
    (rec.o.onReadable as (this: unknown, n: number) => void).call({ read: () => rec.inbox.shift() }, 1);
    t.deepEqual(rec.sent, ["fe80::1:4000"]);
    t.is(s.stats.responses, 1);
    s.close();
  }
  // No group: nothing joined, nothing reported.
  const errs: string[] = [];
  new SdpServer({ UDP: classWith("ok"), port: 15118, answer, onError: (c) => errs.push(c) }).close();
  t.deepEqual(made[made.length - 1]!.joined, []);
  t.deepEqual(errs, []);
});
