import test from "ava";
import https from "node:https";
import type { AddressInfo } from "node:net";
import tls from "node:tls";
import { WebSocketServer } from "ws";
import type { HalError, TCP, WebSocketClient } from "../../hal/index.js";
import { createSimNetwork, ocppCallExpectsReply } from "../../simulator/net/index.js";
import { Scheduler } from "../../simulator/scheduler.js";
import { CLIENT_CERT, CLIENT_KEY, SERVER_CERT, SERVER_KEY } from "./tls-fixtures.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

test("TLS TCP: server validated against the CA, client certificate with a HAL-held key (mutual TLS)", async (t) => {
  const peers: string[] = [];
  const server = tls.createServer({ key: SERVER_KEY, cert: SERVER_CERT, ca: [CLIENT_CERT], requestCert: true, rejectUnauthorized: true }, (s) => {
    peers.push(s.getPeerCertificate().subject.CN);
    s.on("data", (d) => s.write(Buffer.concat([Buffer.from("tls:"), d])));
    s.on("error", () => undefined);
  });
  server.on("tlsClientError", () => undefined);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  const scheduler = new Scheduler({ holdTimeoutMs: 5000 });
  const net = createSimNetwork({ scheduler, expectsReply: () => true, keys: { "device-key": CLIENT_KEY } });
  const events: unknown[] = [];
  const open = (label: string, secure: Record<string, unknown>): TCP => {
    let first = true;
    return new net.TCP({
      address: "127.0.0.1",
      port,
      secure,
      onWritable() {
        if (!first) return; // later calls only restore the write budget
        first = false;
        events.push([scheduler.now, label, "open"]);
        if (label === "good") this.write(enc.encode("hello"));
      },
      onReadable() {
        events.push([scheduler.now, label, dec.decode(this.read())]);
      },
      onError(e: HalError) {
        events.push([scheduler.now, label, e.code]);
      },
    });
  };
  scheduler.at(10, () => open("good", { ca: [SERVER_CERT], certificate: CLIENT_CERT, key: "device-key" }));
  scheduler.at(20, () => open("untrusted", { certificate: CLIENT_CERT, key: "device-key" }));
  scheduler.at(30, () => open("wrong-name", { ca: [SERVER_CERT], serverName: "other.test", certificate: CLIENT_CERT, key: "device-key" }));
  await scheduler.run(100);
  t.deepEqual(events, [
    [10, "good", "open"],
    [10, "good", "tls:hello"],
    [20, "untrusted", "ETLS"],
    [30, "wrong-name", "ETLS"],
  ]);
  t.deepEqual(peers, ["CP1"]);
  t.throws(() => open("x", { key: "missing" }), { instanceOf: RangeError });
  net.shutdown();
  server.close();
});

test("wss:// WebSocketClient with serverName and CA", async (t) => {
  const httpsServer = https.createServer({ key: SERVER_KEY, cert: SERVER_CERT });
  const wss = new WebSocketServer({ server: httpsServer, handleProtocols: (p) => (p.has("ocpp1.6") ? "ocpp1.6" : false) });
  wss.on("connection", (ws) => ws.on("message", (m) => ws.send(`[3,"x",{"echo":${JSON.stringify(m.toString())}}]`)));
  await new Promise<void>((r) => httpsServer.listen(0, "127.0.0.1", r));
  const port = (httpsServer.address() as AddressInfo).port;
  const scheduler = new Scheduler({ holdTimeoutMs: 5000 });
  const net = createSimNetwork({ scheduler, expectsReply: ocppCallExpectsReply });
  const events: unknown[] = [];
  let ws!: WebSocketClient;
  scheduler.at(5, () => {
    ws = new net.WebSocketClient({
      url: `wss://127.0.0.1:${port}/ocpp/CP1`,
      protocols: ["ocpp1.6"],
      secure: { ca: [SERVER_CERT], serverName: "csms.test" },
      onWritable() {
        events.push([scheduler.now, "open", this.protocol]);
        this.write(enc.encode('[2,"x","Heartbeat",{}]'));
      },
      onReadable(n, info) {
        events.push([scheduler.now, dec.decode(this.read()), info.binary]);
      },
      onError(e) {
        events.push([scheduler.now, "error", e.code]);
      },
    });
  });
  await scheduler.run(100);
  t.deepEqual(events, [
    [5, "open", "ocpp1.6"],
    [5, '[3,"x",{"echo":"[2,\\"x\\",\\"Heartbeat\\",{}]"}]', false],
  ]);
  ws.close();
  net.shutdown();
  wss.close();
  httpsServer.close();
});
