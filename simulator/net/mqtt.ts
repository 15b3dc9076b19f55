/**
 * Simulated MQTTClient (hal/network.ts) over the `mqtt` package (MQTT 3.1.1), with the TCP/TLS stream built
 * here so faults act on whole MQTT packets.
 *
 *  - Keep-alive runs in VIRTUAL time: the package's keep-alive timer is given a timer built on
 *    scheduler.after(); the PINGREQ it sends holds until the PINGRESP. A missing PINGRESP (blackhole) makes
 *    the package report "Keepalive timeout", posted as onError("ETIMEDOUT").
 *  - Holds: the connect (until CONNACK → onWritable, or onError); each subscribe/unsubscribe/publish holds
 *    until its acknowledgement (SUBACK/UNSUBACK; for QoS 0 the write itself, for QoS 1 the PUBACK) and then a
 *    PINGREQ barrier: the broker answers packets in order, so everything it sends because of the operation
 *    (retained messages, the echo of our own publish) arrives before the PINGRESP that releases the hold.
 *  - Errors: a refused CONNACK → onError("EMQTT_CONNACK_<rc>"); a socket error → onError(Node code); the
 *    broker closing the connection after CONNACK → onClose(); before CONNACK → onError("ECONNRESET").
 *  - close() sends DISCONNECT (no will) and holds until the connection has closed.
 *  - Blackhole: whole MQTT packets are dropped both ways; the socket stays open.
 */
import net from "node:net";
import tls from "node:tls";
import { Duplex } from "node:stream";
import { MqttClient, type IClientOptions } from "mqtt";
import type { MQTTClient, MQTTClientOptions, MQTTReadableInfo, MQTTWriteOptions } from "../../hal/network.js";
import type { Release } from "../scheduler.js";
import {
  MqttFramer,
  SimConnection,
  arrayBufferOf,
  bufferFrom,
  checkCallback,
  checkOptions,
  checkPort,
  checkString,
  classifyError,
  halError,
  tlsOptions,
  toHalError,
  type NetContext,
  type TlsNodeOptions,
} from "./common.js";

interface Inbound {
  data: ArrayBuffer;
  info: MQTTReadableInfo;
}

/** A repeating timer in virtual time, in the shape the mqtt package's keep-alive manager accepts. */
function virtualIntervalTimer(ctx: NetContext): { set: (fn: () => void, ms: number) => number; clear: (id: number) => void } {
  const armed = new Map<number, number>();
  let next = 1;
  return {
    set(fn, ms) {
      const id = next++;
      const arm = (): void => {
        armed.set(
          id,
          ctx.scheduler.after(ms, () => {
            if (!armed.has(id)) return;
            arm();
            fn();
          }),
        );
      };
      arm();
      return id;
    },
    clear(id) {
      const ev = armed.get(id);
      armed.delete(id);
      if (ev !== undefined) ctx.scheduler.cancel(ev);
    },
  };
}

/** Passes whole MQTT packets between the real socket and the mqtt package, dropping them when blackholed. */
class PacketGate extends Duplex {
  private readonly socket: net.Socket;
  private readonly blackholed: () => boolean;
  private readonly inFramer = new MqttFramer();
  private readonly outFramer = new MqttFramer();
  /** The real socket ended or failed while blackholed: reported when the blackhole lifts. */
  lostSilently: { code: string; message: string } | null = null;
  onLost: ((e: { code: string; message: string }) => void) | null = null;

  constructor(socket: net.Socket, blackholed: () => boolean) {
    super({ allowHalfOpen: false });
    this.socket = socket;
    this.blackholed = blackholed;
    socket.on("data", (chunk: Buffer) => {
      for (const packet of this.inFramer.push(chunk)) {
        if (!this.blackholed()) this.push(packet);
      }
    });
    socket.on("end", () => this.lost({ code: "EOF", message: "closed by broker" }, null));
    socket.on("error", (err) => this.lost(classifyError(err, "ECONNRESET"), err));
    socket.on("close", () => this.lost({ code: "ECONNRESET", message: "connection closed" }, null));
  }

  private lost(e: { code: string; message: string }, err: Error | null): void {
    if (this.lostSilently || this.destroyed) return;
    if (this.blackholed()) {
      this.lostSilently = e;
      return;
    }
    if (this.onLost) this.onLost(e);
    if (err) this.destroy(err);
    else {
      this.push(null);
      this.destroy();
    }
  }

  override _read(): void {
    // Data is pushed as it arrives.
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    for (const packet of this.outFramer.push(Buffer.from(chunk))) {
      if (!this.blackholed() && !this.socket.destroyed) this.socket.write(packet);
    }
    done();
  }

  override _destroy(err: Error | null, done: (err: Error | null) => void): void {
    if (!this.socket.destroyed) this.socket.destroy();
    done(err);
  }

  resetReal(): void {
    if (!this.socket.destroyed && this.socket.readyState === "open" && typeof this.socket.resetAndDestroy === "function" && !(this.socket instanceof tls.TLSSocket)) {
      this.socket.resetAndDestroy();
    } else this.socket.destroy();
  }
}

export function mqttClientClass(ctx: NetContext): new (options: MQTTClientOptions) => MQTTClient {
  return class SimMQTTClient extends SimConnection implements MQTTClient {
    readonly #options: MQTTClientOptions;
    readonly #clientOptions: IClientOptions;
    readonly #host: string;
    readonly #port: number;
    readonly #tls: TlsNodeOptions | undefined;
    #client: MqttClient | null = null;
    #gate: PacketGate | null = null;
    #started = false;
    #connected = false;
    readonly #pingHolds: Release[] = [];
    readonly #opHolds = new Set<Release>();
    #closeHold: Release | null = null;
    readonly #inbox: Inbound[] = [];
    #current: Inbound | undefined;

    constructor(options: MQTTClientOptions) {
      const o = checkOptions(options, "MQTTClient");
      checkString(o.host, "host", false);
      checkPort(o.port, "port", true);
      checkString(o.id, "id", false);
      checkString(o.user, "user", true);
      checkString(o.password, "password", true);
      if (o.keepAlive !== undefined && (typeof o.keepAlive !== "number" || !(o.keepAlive >= 0) || o.keepAlive > 65535_000)) {
        throw new RangeError("keepAlive must be 0..65535000 ms");
      }
      if (o.clean !== undefined && typeof o.clean !== "boolean") throw new TypeError("clean must be a boolean");
      for (const cb of ["onReadable", "onWritable", "onClose", "onError"]) checkCallback(o, cb);
      let will: IClientOptions["will"];
      if (o.will !== undefined) {
        const w = checkOptions(o.will, "will");
        checkTopic(w.topic, false);
        checkQoS(w.QoS);
        if (w.retain !== undefined && typeof w.retain !== "boolean") throw new TypeError("will.retain must be a boolean");
        will = { topic: w.topic as string, payload: bufferFrom(w.message, "will.message"), qos: (w.QoS as 0 | 1 | undefined) ?? 0, retain: (w.retain as boolean | undefined) ?? false };
      }
      const secure = o.secure !== undefined;
      super(ctx, `mqtt ${o.host as string}:${(o.port as number | undefined) ?? (secure ? 8883 : 1883)} ${o.id as string}`);
      this.#options = options;
      this.#host = o.host as string;
      this.#port = (o.port as number | undefined) ?? (secure ? 8883 : 1883);
      this.#tls = secure ? tlsOptions(ctx, o.secure, this.#host) : undefined;
      const keepAliveMs = (o.keepAlive as number | undefined) ?? 60_000;
      this.#clientOptions = {
        clientId: o.id as string,
        protocolVersion: 4,
        keepalive: Math.ceil(keepAliveMs / 1000),
        clean: (o.clean as boolean | undefined) ?? true,
        reconnectPeriod: 0,
        connectTimeout: 30_000,
        resubscribe: false,
        reschedulePings: true,
        timerVariant: virtualIntervalTimer(ctx) as unknown as IClientOptions["timerVariant"],
        ...(o.user !== undefined ? { username: o.user as string } : {}),
        ...(o.password !== undefined ? { password: o.password as string } : {}),
        ...(will ? { will } : {}),
      };
      if (!this.admit(() => this.#options.onError)) return;
      if (!ctx.blackholed) this.#start();
    }

    read(): ArrayBuffer {
      if (this.closed) throw new Error("MQTTClient: closed");
      const m = this.#current;
      if (!m) throw new Error("MQTTClient: no message pending");
      this.#current = undefined;
      return m.data;
    }

    write(data: ArrayBuffer | Uint8Array | DataView, options: MQTTWriteOptions): void {
      this.#checkUsable();
      const o = checkOptions(options, "write options");
      checkTopic(o.topic, false);
      checkQoS(o.QoS);
      if (o.retain !== undefined && typeof o.retain !== "boolean") throw new TypeError("retain must be a boolean");
      const buf = bufferFrom(data);
      const client = this.#client;
      if (!client || this.dead || this.realDead) return;
      const qos = (o.QoS as 0 | 1 | undefined) ?? 0;
      const op = this.#opHold("publish");
      client.publish(o.topic as string, buf, { qos, retain: (o.retain as boolean | undefined) ?? false }, () => this.#barrier(op));
    }

    subscribe(topic: string, QoS?: 0 | 1): void {
      this.#checkUsable();
      checkTopic(topic, true);
      checkQoS(QoS);
      const client = this.#client;
      if (!client || this.dead || this.realDead) return;
      const op = this.#opHold("subscribe");
      client.subscribe(topic, { qos: QoS ?? 0 }, () => this.#barrier(op));
    }

    unsubscribe(topic: string): void {
      this.#checkUsable();
      checkTopic(topic, true);
      const client = this.#client;
      if (!client || this.dead || this.realDead) return;
      const op = this.#opHold("unsubscribe");
      client.unsubscribe(topic, () => this.#barrier(op));
    }

    close(): void {
      if (this.closed) return;
      this.closed = true;
      this.forget();
      this.#releaseOps();
      this.releaseAll();
      const client = this.#client;
      if (!client) return;
      if (this.realDead || !this.#connected || this.ctx.blackholed) {
        this.realDead = true;
        client.end(true);
        this.#gate?.destroy();
        return;
      }
      this.realDead = true;
      this.#closeHold = this.ctx.scheduler.hold(`${this.label} close`);
      client.end(false, () => {
        const h = this.#closeHold;
        this.#closeHold = null;
        if (h) h();
      });
    }

    #checkUsable(): void {
      if (this.closed) throw new Error("MQTTClient: closed");
      if (!this.open) throw new Error("MQTTClient: not connected");
    }

    /** A hold for an operation; none when blackholed (the acknowledgement would never come). */
    #opHold(kind: string): Release | null {
      if (this.ctx.blackholed) return null;
      const r = this.ctx.scheduler.hold(`${this.label} ${kind}`);
      this.#opHolds.add(r);
      return r;
    }

    /** The operation was acknowledged: send a PINGREQ barrier (it holds until its PINGRESP), then release. */
    #barrier(op: Release | null): void {
      if (op === null || !this.#opHolds.has(op)) return;
      this.#opHolds.delete(op);
      const client = this.#client;
      if (client && client.connected && !this.realDead && !this.ctx.blackholed) client.sendPing();
      op();
    }

    #releaseOps(): void {
      for (const r of this.#opHolds) r();
      this.#opHolds.clear();
      for (const r of this.#pingHolds.splice(0)) r();
    }

    #start(): void {
      if (this.#started) return;
      this.#started = true;
      this.takeConnectHold();
      const builder = (): PacketGate => {
        const base = { host: this.#host, port: this.#port };
        const socket = this.#tls ? tls.connect({ ...base, ...this.#tls, rejectUnauthorized: true }) : net.connect(base);
        socket.setNoDelay(true);
        const gate = new PacketGate(socket, () => this.ctx.blackholed);
        this.#gate = gate;
        return gate;
      };
      const client = new MqttClient(builder as unknown as ConstructorParameters<typeof MqttClient>[0], this.#clientOptions);
      this.#client = client;
      client.on("connect", () => {
        if (this.realDead) return;
        this.#connected = true;
        this.settled = true;
        this.post(() => {
          if (this.dead) return undefined;
          this.open = true;
          return this.callback(this.#options.onWritable, this.ctx.writeWindow);
        });
        this.releaseConnectHold();
      });
      client.on("message", (topic, payload, packet) => {
        if (this.realDead) return;
        this.#inbox.push({
          data: arrayBufferOf(payload),
          info: { topic, QoS: packet.qos, retain: packet.retain },
        });
        this.post(() => {
          const m = this.#inbox.shift();
          if (!m || this.dead) return undefined;
          this.#current = m;
          return this.callback(this.#options.onReadable, m.data.byteLength, m.info);
        });
      });
      client.on("packetsend", (packet) => {
        if (packet.cmd === "pingreq" && !this.realDead && !this.ctx.blackholed) {
          this.#pingHolds.push(this.ctx.scheduler.hold(`${this.label} pingresp`));
        }
      });
      client.on("packetreceive", (packet) => {
        if (packet.cmd === "pingresp") {
          const r = this.#pingHolds.shift();
          if (r) r();
        }
      });
      client.on("error", (err: Error & { code?: unknown }) => {
        if (this.realDead) return;
        let e;
        if (typeof err.code === "number") e = halError(`EMQTT_CONNACK_${err.code}`, err.message);
        else if (/keepalive timeout/i.test(err.message)) e = halError("ETIMEDOUT", err.message);
        else e = classifyError(err, "EMQTT");
        this.#releaseOps();
        this.fail(e, () => this.#options.onError);
      });
      client.on("close", () => {
        const h = this.#closeHold;
        this.#closeHold = null;
        if (h) h();
        if (this.realDead) return;
        const gate = this.#gate;
        if (gate?.lostSilently || this.ctx.blackholed) return;
        this.#releaseOps();
        if (!this.#connected) {
          this.fail(halError("ECONNRESET", `${this.label}: closed before CONNACK`), () => this.#options.onError);
          return;
        }
        this.realDead = true;
        this.forget();
        this.post(() => {
          if (this.dead) return undefined;
          this.dead = true;
          return this.callback(this.#options.onClose);
        });
        this.releaseAll();
        client.end(true);
      });
    }

    protected blackholeChanged(on: boolean): void {
      if (this.closed) return;
      if (on) {
        this.#releaseOps();
        this.releaseAll();
        return;
      }
      if (!this.#started) {
        if (this.ctx.refusing) {
          this.fail(halError("ECONNREFUSED", `${this.label}: connection refused (fault)`), () => this.#options.onError);
          return;
        }
        this.#start();
        return;
      }
      const lost = this.#gate?.lostSilently;
      if (lost && !this.realDead) {
        this.fail(lost, () => this.#options.onError);
        return;
      }
      if (!this.settled && !this.realDead) this.takeConnectHold();
    }

    protected reset(): void {
      if (this.closed || this.realDead) return;
      this.#releaseOps();
      this.settled = false;
      this.fail(halError("ECONNRESET", `${this.label}: connection reset (fault)`), () => this.#options.onError);
    }

    protected destroyReal(): void {
      const client = this.#client;
      this.#gate?.resetReal();
      if (client) client.end(true);
    }
  };
}

function checkTopic(topic: unknown, filter: boolean): void {
  if (typeof topic !== "string") throw new TypeError("topic must be a string");
  if (topic.length === 0 || Buffer.byteLength(topic) > 65535) throw new RangeError("topic must be 1..65535 bytes");
  if (topic.includes("\u0000")) throw new RangeError("topic must not contain NUL");
  if (!filter && /[+#]/.test(topic)) throw new RangeError("a topic name must not contain wildcards");
  if (filter) {
    const levels = topic.split("/");
    levels.forEach((l, i) => {
      if (l.includes("#") && (l !== "#" || i !== levels.length - 1)) throw new RangeError("'#' must be a whole last level");
      if (l.includes("+") && l !== "+") throw new RangeError("'+' must be a whole level");
    });
  }
}

function checkQoS(q: unknown): void {
  if (q !== undefined && q !== 0 && q !== 1) throw new RangeError("QoS must be 0 or 1");
}
