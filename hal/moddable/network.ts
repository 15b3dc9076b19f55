/**
 * Network over ECMA-419 sockets (embedded:io/socket/tcp, udp, listener; TLS: embedded:io/socket/tcp/tls) and Moddable's
 * ECMA-419 clients (embedded:network/websocket/client, embedded:network/mqtt/client), with host names
 * resolved by embedded:network/dns/resolver/udp against the board's DNS servers.
 */
import Base64 from "base64";
import ListenerSocket from "embedded:io/socket/listener";
import TCPSocket from "embedded:io/socket/tcp";
import TLSSocket from "embedded:io/socket/tcp/tls";
import UDPSocket from "embedded:io/socket/udp";
import Resolver from "embedded:network/dns/resolver/udp";
import HTTP from "embedded:network/http/client";
import MQTT from "embedded:network/mqtt/client";
import WebSocket from "embedded:network/websocket/client";
import Preference from "preference";
import type * as H from "../index.js";
import { toArrayBuffer } from "./crypto.js";

/** Preference domain holding TLS client keys (PKCS#8 DER, provisioned at the factory) by TlsOptions.key name. */
export const TLS_KEYS = "hal.tlskeys";

const halError = (code: string, message: string): H.HalError => ({ code, message });
const closed = (): never => {
  throw new Error("closed");
};
const concat = (parts: ArrayBuffer[]): ArrayBuffer => (parts.length === 1 ? parts[0] : new ArrayBuffer(0).concat(...parts));

/** PEM → DER for every block in the text. */
const pemBlocks = (pem: string): ArrayBuffer[] =>
  (pem.match(/-----BEGIN [^-]+-----[^-]+-----END [^-]+-----/g) ?? []).map((b) => Base64.decode(b.replace(/-----[^-]+-----|\s/g, "")));

/** HAL TlsOptions → Moddable SecureSocket `secure` dictionary. Moddable takes ONE trust anchor: the first CA. */
function secureOptions(tls: H.TlsOptions, host: string): Record<string, unknown> {
  const secure: Record<string, unknown> = { serverName: tls.serverName ?? host };
  const ca = tls.ca?.flatMap(pemBlocks);
  if (ca?.length) secure.certificate = ca[0];
  if (tls.certificate) secure.clientCertificates = pemBlocks(tls.certificate);
  if (tls.key !== undefined) {
    const key = Preference.get(TLS_KEYS, tls.key);
    if (!(key instanceof ArrayBuffer)) throw new Error(`TLS key ${tls.key} not provisioned`);
    secure.clientKey = key;
  }
  return secure;
}

export function createNetwork(dnsServers: string[]): H.Network {
  const dns = { io: Resolver, servers: dnsServers, socket: { io: UDPSocket } };
  const streamSocket = (secure: H.TlsOptions | undefined, host: string) =>
    secure ? { io: TLSSocket, TCP: { io: TCPSocket }, secure: secureOptions(secure, host) } : { io: TCPSocket };

  function resolve(host: string, onResolved: (address: string) => void, onError: () => void): void {
    if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return onResolved(host);
    const resolver = new Resolver(dns);
    resolver.resolve({
      host,
      onResolved(_host, address) {
        resolver.close();
        onResolved(String(address));
        return null;
      },
      onError() {
        resolver.close();
        onError();
        return null;
      },
    });
  }

  class TCP implements H.TCP {
    #socket: TCPSocket | TLSSocket | undefined;
    #closed = false;
    constructor(o: H.TCPOptions) {
      if (o.from !== undefined) {
        // An accepted connection (Listener.read() gives Moddable's TCP socket): ECMA-419 `new TCP({ from })`.
        const self = this;
        const callbacks = {
          nodelay: o.nodelay, format: "buffer" as const,
          onReadable: (n: number) => o.onReadable?.call(self, n),
          onWritable: (n: number) => o.onWritable?.call(self, n),
          onError: () => o.onError?.call(self, halError("ECONNRESET", "accepted TCP connection failed")),
        };
        const from = o.from as unknown as TCPSocket;
        // TLS server side (Plug & Charge later): the certificate and key go to the TLS socket as its identity.
        // Not yet verified on the device.
        this.#socket = o.secure
          ? new TLSSocket({ ...callbacks, from, secure: { ...secureOptions(o.secure, ""), server: true }, TCP: { io: TCPSocket } } as never)
          : new TCPSocket({ ...callbacks, from } as never);
        return;
      }
      const host = o.address ?? o.host;
      if (host === undefined || !Number.isInteger(o.port) || o.port <= 0 || o.port > 65535) throw new RangeError("TCP host/port");
      const self = this;
      const fail = (code: string) => o.onError?.call(self, halError(code, `TCP ${host}:${o.port} failed`));
      const secure = o.secure ? secureOptions(o.secure, o.host ?? host) : undefined;
      resolve(host, (address) => {
        if (self.#closed) return;
        const options = {
          address, port: o.port, nodelay: o.nodelay, format: "buffer" as const,
          onReadable: (n: number) => o.onReadable?.call(self, n),
          onWritable: (n: number) => o.onWritable?.call(self, n),
          onError: () => fail("ECONNRESET"),
        };
        self.#socket = secure ? new TLSSocket({ ...options, host: o.host ?? address, secure, TCP: { io: TCPSocket } } as never) : new TCPSocket(options);
      }, () => fail("ENOTFOUND"));
    }
    #live(): TCPSocket | TLSSocket {
      if (this.#closed) closed();
      return this.#socket ?? closed();
    }
    read(byteLength?: number): ArrayBuffer {
      const data = (this.#live() as TCPSocket).read(byteLength);
      return data instanceof ArrayBuffer ? data : new ArrayBuffer(0);
    }
    write(buffer: H.BufferLike): void {
      (this.#live() as TCPSocket).write(buffer);
    }
    get remoteAddress(): string | undefined {
      return (this.#socket as { remoteAddress?: string } | undefined)?.remoteAddress;
    }
    get remotePort(): number | undefined {
      return (this.#socket as { remotePort?: number } | undefined)?.remotePort;
    }
    close(): void {
      this.#closed = true;
      this.#socket?.close();
      this.#socket = undefined;
    }
  }

  class UDP implements H.UDP {
    #socket: UDPSocket | undefined;
    constructor(o: H.UDPOptions) {
      const self = this;
      this.#socket = new UDPSocket({
        port: o.port, address: o.address, format: "buffer",
        onReadable: (packets: number) => o.onReadable?.call(self, packets),
        onError: () => o.onError?.call(self, halError("EIO", "UDP socket error")),
      });
    }
    write(buffer: H.BufferLike, address: string, port: number): void {
      (this.#socket ?? closed()).write(buffer, address, port);
    }
    read(): H.UDPPacket | undefined {
      const packet = (this.#socket ?? closed()).read();
      return packet ? { data: packet, address: packet.address, port: packet.port } : undefined;
    }
    /**
     * ECMA-419 (4th edition) add(multicastAddress): Moddable's UDP has add()/remove() at run time (modules/io/socket
     * udp.js; not in @moddable/typings 5.6). On the ESP32 (lwIP) they join IPv4 groups only (IGMP): an IPv6 group
     * such as ff02::1 throws there. See README.md "IPv6 and multicast".
     */
    add(multicastAddress: string): void {
      membership(this.#socket ?? closed(), "add")(multicastAddress);
    }
    remove(multicastAddress: string): void {
      membership(this.#socket ?? closed(), "remove")(multicastAddress);
    }
    close(): void {
      (this.#socket as { close?(): void } | undefined)?.close?.();
      this.#socket = undefined;
    }
  }

  /** The socket's add/remove, or a function that throws when this Moddable build has none. */
  function membership(socket: UDPSocket, name: "add" | "remove"): (group: string) => void {
    const f = (socket as unknown as Record<string, unknown>)[name];
    if (typeof f !== "function") {
      return () => {
        throw new Error(`UDP ${name}: this Moddable build has no multicast membership`);
      };
    }
    return (group: string) => (f as (g: string) => void).call(socket, group);
  }

  class WebSocketClient implements H.WebSocketClient {
    #ws: WebSocket | undefined;
    #open = false;
    #parts: ArrayBuffer[] = [];
    #message: ArrayBuffer | undefined;
    #code = 1005;
    #reason = "";
    /** Moddable's client does not report the accepted subprotocol: known only when exactly one is offered. */
    readonly protocol: string;
    constructor(o: H.WebSocketClientOptions) {
      const url = /^(wss?):\/\/([^/:?#]+)(?::(\d{1,5}))?([/?][^#]*)?$/.exec(o.url);
      if (!url) throw new RangeError("WebSocket url");
      const [, scheme, host, port, path] = url;
      const protocols = o.protocols ?? [];
      this.protocol = protocols.length === 1 ? protocols[0] : "";
      const self = this;
      this.#ws = new WebSocket({
        host, port: port ? Number(port) : scheme === "wss" ? 443 : 80, path: path ?? "/",
        protocol: protocols.length ? protocols.join(", ") : undefined,
        headers: o.headers ? new Map(Object.entries(o.headers)) : undefined,
        dns, socket: streamSocket(scheme === "wss" ? (o.secure ?? {}) : undefined, host),
        onWritable(n) {
          self.#open = true;
          o.onWritable?.call(self, n);
        },
        onReadable(n, { more, binary }) {
          self.#parts.push(this.read(n));
          if (more) return;
          const message = concat(self.#parts);
          self.#parts = [];
          self.#message = message;
          o.onReadable?.call(self, message.byteLength, { binary });
        },
        onControl(opcode, data) {
          if (opcode === 10) o.onPong?.call(self);
          else if (opcode === 8 && data.byteLength >= 2) {
            self.#code = new DataView(data).getUint16(0);
            self.#reason = String.fromArrayBuffer(data.slice(2));
          }
        },
        onClose() {
          self.#open = false;
          o.onClose?.call(self, self.#code, self.#reason);
        },
        onError() {
          self.#open = false;
          o.onError?.call(self, halError("ECONNRESET", "WebSocket connection failed or broke"));
        },
      });
    }
    #live(): WebSocket {
      if (!this.#open || !this.#ws) throw new Error("WebSocket not open");
      return this.#ws;
    }
    read(): ArrayBuffer {
      const message = this.#message ?? closed();
      this.#message = undefined;
      return message;
    }
    write(data: H.BufferLike, options?: { binary?: boolean }): void {
      this.#live().write(data, { binary: options?.binary ?? false });
    }
    ping(): void {
      this.#live().write(new ArrayBuffer(0), { opcode: 9 });
    }
    close(): void {
      this.#open = false;
      this.#ws?.close();
      this.#ws = undefined;
    }
  }

  class MQTTClient implements H.MQTTClient {
    #client: MQTT | undefined;
    #connected = false;
    #parts: ArrayBuffer[] = [];
    #info: H.MQTTReadableInfo = { topic: "", QoS: 0, retain: false };
    #message: ArrayBuffer | undefined;
    constructor(o: H.MQTTClientOptions) {
      const self = this;
      const will = o.will && { topic: o.will.topic, message: toArrayBuffer(o.will.message), QoS: o.will.QoS ?? 0, retain: !!o.will.retain };
      this.#client = new MQTT({
        host: o.host, port: o.port ?? (o.secure ? 8883 : 1883), id: o.id, user: o.user, password: o.password,
        keepAlive: o.keepAlive, clean: o.clean ?? true, will, dns, socket: streamSocket(o.secure, o.host),
        // The SDK calls onControl(message) with message.operation; older typings say onControl(opcode, message).
        onControl(control: number | { operation: number }) {
          const operation = typeof control === "number" ? control : control.operation;
          if (operation !== MQTT.CONNACK || self.#connected) return;
          self.#connected = true;
          o.onWritable?.call(self, 0);
        },
        onWritable(n) {
          if (self.#connected) o.onWritable?.call(self, n);
        },
        onReadable(n, info) {
          if (info.topic !== undefined) self.#info = { topic: info.topic, QoS: (info.QoS ?? 0) as 0 | 1 | 2, retain: false };
          self.#parts.push(self.#client!.read(n));
          if (info.more) return;
          const message = concat(self.#parts);
          self.#parts = [];
          self.#message = message;
          o.onReadable?.call(self, message.byteLength, self.#info);
        },
        onClose() {
          self.#connected = false;
          o.onClose?.call(self);
        },
        onError() {
          self.#connected = false;
          o.onError?.call(self, halError("ECONNRESET", "MQTT connection failed, was refused or broke"));
        },
      });
    }
    #live(): MQTT {
      if (!this.#connected || !this.#client) throw new Error("MQTT not connected");
      return this.#client;
    }
    read(): ArrayBuffer {
      const message = this.#message ?? closed();
      this.#message = undefined;
      return message;
    }
    write(data: H.BufferLike, options: H.MQTTWriteOptions): void {
      if (typeof options?.topic !== "string" || !options.topic) throw new RangeError("MQTT topic");
      this.#live().write(data, { topic: options.topic, QoS: options.QoS ?? 0, retain: !!options.retain });
    }
    #control(operation: number, topic: string, QoS?: 0 | 1): void {
      if (!topic) throw new RangeError("MQTT topic");
      // Control packets carry no payload: the SDK's client takes null as data here.
      this.#live().write(null as never, { operation, topic, items: [QoS === undefined ? { topic } : { topic, QoS }] });
    }
    subscribe(topic: string, QoS: 0 | 1 = 0): void {
      this.#control(MQTT.SUBSCRIBE, topic, QoS);
    }
    unsubscribe(topic: string): void {
      this.#control(MQTT.UNSUBSCRIBE, topic);
    }
    close(): void {
      try {
        if (this.#connected) this.#client?.write(null as never, { operation: MQTT.DISCONNECT, topic: "" });
      } catch {
        // no room to send DISCONNECT: the broker sees the TCP close instead
      }
      this.#connected = false;
      this.#client?.close();
      this.#client = undefined;
    }
  }

  /** ECMA-419 HTTP client; headers cross as a Map (lower-case names on the way back). */
  class HTTPClient implements H.HTTPClient {
    #client: HTTP | undefined;
    constructor(o: H.HTTPClientOptions) {
      const port = o.port ?? (o.secure ? 443 : 80);
      const self = this;
      this.#client = new HTTP({
        host: o.host, port, dns, socket: streamSocket(o.secure, o.host),
        onError: () => o.onError?.call(self, halError("EIO", `HTTP ${o.host}:${port} failed`)),
      });
    }
    request(r: H.HTTPRequestOptions): H.HTTPRequest {
      const client = this.#client ?? closed();
      let done = false;
      let wrapper: H.HTTPRequest;
      const req = client.request({
        method: r.method ?? "GET", path: r.path ?? "/",
        headers: r.headers ? new Map(Object.entries(r.headers)) : undefined,
        onHeaders(status, headers) {
          const h: Record<string, string> = {};
          headers.forEach((v, k) => (h[String(k).toLowerCase()] = String(v)));
          r.onHeaders?.call(wrapper, status, h);
        },
        onReadable: (n) => r.onReadable?.call(wrapper, n),
        onWritable: (n) => r.onWritable?.call(wrapper, n),
        onDone(error) {
          if (done) return;
          done = true;
          r.onDone?.call(wrapper, error ? halError("EIO", "HTTP request failed") : null);
        },
      });
      wrapper = {
        read: (n?: number) => req.read(n) ?? new ArrayBuffer(0),
        write: (b: H.BufferLike | undefined) => req.write(b),
        close: () => {
          done = true;
          (req as { close?(): void }).close?.();
        },
      };
      return wrapper;
    }
    close(): void {
      this.#client?.close();
      this.#client = undefined;
    }
  }

  /** ECMA-419 embedded:io/socket/listener: read() gives the platform's accepted socket, for `new TCP({ from })`. */
  class Listener implements H.Listener {
    #listener: ListenerSocket | undefined;
    constructor(o: H.ListenerOptions) {
      if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new RangeError("Listener port");
      const self = this;
      this.#listener = new ListenerSocket({
        port: o.port,
        ...(o.address !== undefined && o.address !== "::" ? { address: o.address } : {}),
        onReadable: (n: number) => o.onReadable?.call(self, n),
      });
    }
    read(): H.ListenerSocket | undefined {
      const l = this.#listener ?? closed();
      return (l.read() as unknown as H.ListenerSocket | undefined) ?? undefined;
    }
    get port(): number {
      return this.#listener?.port ?? 0;
    }
    close(): void {
      const l = this.#listener as unknown as { close?(): void } | undefined;
      this.#listener = undefined;
      l?.close?.();
    }
  }

  return { TCP, UDP, WebSocketClient, MQTTClient, HTTPClient, Listener };
}
