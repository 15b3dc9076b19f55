/**
 * mosquitto for the telemetry tests: a given port (so a killed broker can come back on it), optional
 * password_file + acl_file (the README's example ACL), and a real-time observer client (the `mqtt` package).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { findMosquitto } from "../support/mosquitto.js";

export { findMosquitto };

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** The ACL of firmware/telemetry/README.md, for the prefix "evse". */
export const EXAMPLE_ACL = `# chargers: user name = charger id; each writes only its own subtree and reads only its own commands
pattern write evse/%u/status
pattern write evse/%u/state
pattern write evse/%u/measurements
pattern write evse/%u/events
pattern write evse/%u/config
pattern write evse/%u/ha
pattern write evse/%u/reply/#
pattern write evse/%u/error
pattern read evse/%u/cmd/#
pattern write homeassistant/+/%u/#

# the site energy manager / Home Assistant: commands to every charger, reads everything
user hems
topic write evse/+/cmd/#
topic read evse/#
topic read homeassistant/#
`;

export interface BrokerOptions {
  port?: number;
  /** user -> password; with it: allow_anonymous false, password_file and the example acl_file. */
  users?: Record<string, string>;
}

export class TestBroker {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly conf: string,
  ) {}

  static async start(o: BrokerOptions = {}): Promise<TestBroker> {
    const bin = findMosquitto();
    if (!bin) throw new Error("mosquitto not installed");
    const dir = mkdtempSync(join(tmpdir(), "mosq-tm-"));
    // mosquitto started as root drops to its own user before reading the password and ACL files
    chmodSync(dir, 0o755);
    const port = o.port ?? (await freePort());
    const lines = [`listener ${port} 127.0.0.1`, "persistence false", "log_dest none"];
    if (o.users) {
      const pw = join(dir, "passwd");
      writeFileSync(pw, "");
      for (const [u, p] of Object.entries(o.users)) execFileSync("mosquitto_passwd", ["-b", pw, u, p]);
      const acl = join(dir, "acl");
      writeFileSync(acl, EXAMPLE_ACL);
      chmodSync(pw, 0o644);
      chmodSync(acl, 0o644);
      lines.push("allow_anonymous false", `password_file ${pw}`, `acl_file ${acl}`);
    } else lines.push("allow_anonymous true");
    const conf = join(dir, "mosquitto.conf");
    writeFileSync(conf, lines.join("\n") + "\n");
    const b = new TestBroker(port, dir, conf);
    await b.launch();
    return b;
  }

  async launch(): Promise<void> {
    const child = spawn(findMosquitto()!, ["-c", this.conf], { stdio: ["ignore", "ignore", "pipe"] });
    this.child = child;
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    const until = Date.now() + 5000;
    for (;;) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = net.connect({ host: "127.0.0.1", port: this.port });
        s.once("connect", () => (s.destroy(), resolve(true)));
        s.once("error", () => resolve(false));
      });
      if (ok) return;
      if (Date.now() > until) throw new Error(`mosquitto did not listen on ${this.port}`);
      await new Promise((r) => setTimeout(r, 30));
    }
  }

  async kill(): Promise<void> {
    this.child?.kill("SIGKILL");
    await this.exited;
    this.child = null;
  }

  async stop(): Promise<void> {
    await this.kill();
    if (existsSync(this.dir)) rmSync(this.dir, { recursive: true, force: true });
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }
}

let observers = 0;

export interface Seen {
  topic: string;
  payload: Buffer;
  retain: boolean;
  qos: number;
}

/** A real-time client that records everything it receives. */
export class Observer {
  readonly seen: Seen[] = [];
  private waiters: Array<{ pred: (m: Seen) => boolean; resolve: (m: Seen) => void }> = [];
  private constructor(readonly client: MqttClient) {
    client.on("message", (topic, payload, packet) => {
      const m = { topic, payload, retain: packet.retain, qos: packet.qos };
      this.seen.push(m);
      this.waiters = this.waiters.filter((w) => (w.pred(m) ? (w.resolve(m), false) : true));
    });
  }

  static async connect(port: number, topics: string[], auth: { username?: string; password?: string } = {}): Promise<Observer> {
    const client = await mqtt.connectAsync({ host: "127.0.0.1", port, protocolVersion: 4, reconnectPeriod: 0, clientId: `obs-${process.pid}-${++observers}`, ...auth });
    const o = new Observer(client);
    await client.subscribeAsync(topics, { qos: 1 });
    return o;
  }

  next(pred: (m: Seen) => boolean): Promise<Seen> {
    return new Promise((resolve) => this.waiters.push({ pred, resolve }));
  }

  on(topic: string): Seen[] {
    return this.seen.filter((m) => m.topic === topic);
  }

  async publish(topic: string, payload: string | Buffer): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: 1 });
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
