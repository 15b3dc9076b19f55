/**
 * Network services below the firmware, shaped after ECMA-419 (sockets: embedded:io/socket/*; clients:
 * the network part, embedded:network/*). On the device: Moddable's modules (and, for LTE, the AT-command
 * socket driver in hal/drivers); on Node: net/tls/dgram, the `ws` and `mqtt` packages.
 *
 * Connection life cycle for every stream client: the first onWritable() means "connected"; onError()
 * means the connection failed or broke and the instance is dead (close() it and make a new one);
 * onClose() (WebSocket, MQTT) means the peer closed cleanly.
 */
import type { BufferLike, HalError, IoClass, IoInstance, OnError } from "./common.js";

/** TLS parameters (security profiles 2 and 3 of OCPP; MQTT over TLS). PEM strings. */
export interface TlsOptions {
  /** Trusted CA certificates (PEM). The server certificate is validated against them and the host name. */
  ca?: string[];
  /** Client certificate chain (PEM) for mutual TLS. */
  certificate?: string;
  /** Name of the private key held by the HAL (secure element) matching `certificate`. */
  key?: string;
  /** Server name for SNI and validation, when it differs from `host`. */
  serverName?: string;
}

export interface TCPOptions {
  host?: string;
  address?: string;
  port: number;
  /** Present: a TLS socket with these parameters (with `from`: the server side of TLS, `certificate` + `key`). */
  secure?: TlsOptions;
  nodelay?: boolean;
  /**
   * An accepted connection from Listener.read() (ECMA-419 `new TCP({from})`): the instance wraps it and is
   * connected at once (first onWritable); host, address and port are then ignored (pass port 0).
   */
  from?: ListenerSocket;
  onReadable?: (this: TCP, byteLength: number) => void;
  onWritable?: (this: TCP, byteLength: number) => void;
  onError?: OnError<TCP>;
}

export interface TCP extends IoInstance {
  /** Reads up to byteLength bytes (all available when omitted). */
  read(byteLength?: number): ArrayBuffer;
  /** Queues bytes; throws if more than the last onWritable allowed. */
  write(buffer: BufferLike): void;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
}

/** An accepted, not yet wrapped connection: opaque, only for `new TCP({ from })`. */
export interface ListenerSocket {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
}

/**
 * A TCP listener, after ECMA-419 embedded:io/socket/listener: `new Listener({ port, address?, onReadable })`;
 * onReadable(count) says `count` connections are waiting; each read() takes one (undefined when none is left),
 * to be wrapped with `new TCP({ from, onReadable, ... })`. A connection not read is kept until close(), which
 * stops listening and drops the unread ones. An address of "::" (default) or "::1" / an IPv6 link-local address
 * binds that address; the SECC listens for V2GTP this way.
 */
export interface ListenerOptions {
  port: number;
  address?: string;
  onReadable?: (this: Listener, count: number) => void;
  onError?: OnError<Listener>;
}

export interface Listener extends IoInstance {
  read(): ListenerSocket | undefined;
  /** The bound port (useful with port 0: any free port). */
  readonly port: number;
}

/**
 * A UDP socket, after ECMA-419 embedded:io/socket/udp. `address` binds that address ("::" any IPv6, an IPv6
 * link-local address with its zone, e.g. "fe80::1%plc0"); a socket bound to a unicast address receives no
 * multicast (as in lwIP and Linux): a group member binds "::" (or nothing).
 */
export interface UDPOptions {
  port?: number;
  address?: string;
  onReadable?: (this: UDP, packets: number) => void;
  onError?: OnError<UDP>;
}

export interface UDPPacket {
  data: ArrayBuffer;
  address: string;
  port: number;
}

export interface UDP extends IoInstance {
  /** Sends one datagram; to a multicast address (with a zone: out of that interface) it goes to the group. */
  write(buffer: BufferLike, address: string, port: number): void;
  /** The next datagram, or undefined when none is queued. */
  read(): UDPPacket | undefined;
  /**
   * Joins a multicast group for this socket's port (ECMA-419 4th edition `add(multicastAddress)`; optional: a HAL
   * without multicast has no add). An IPv6 group takes the interface as its zone: "ff02::1%plc0" (the ISO 15118
   * SDP server: the all-nodes group on the PLC interface, zone = Ipv6Interface.name). Throws (RangeError) for an
   * address that is not a multicast group, or (Error) when the join fails; the socket then still works for unicast.
   */
  add?(multicastAddress: string): void;
  /** Leaves a group joined with add() (ECMA-419 `remove(multicastAddress)`); throws like add(). */
  remove?(multicastAddress: string): void;
}

export interface WebSocketReadableInfo {
  /** True for a binary message, false for text (UTF-8). */
  binary: boolean;
}

export interface WebSocketClientOptions {
  /** ws:// or wss:// URL, path included. */
  url: string;
  /** Subprotocols to offer, in order of preference ("ocpp1.6", "ocpp2.0.1"). */
  protocols?: string[];
  /** Extra HTTP headers of the upgrade request (Authorization for OCPP security profile 1). */
  headers?: Record<string, string>;
  /** TLS parameters for wss:// URLs. */
  secure?: TlsOptions;
  /** Called once per received message; read() returns it. `this` is the client. */
  onReadable?: (this: WebSocketClient, byteLength: number, info: WebSocketReadableInfo) => void;
  /** First call: the connection is open (subprotocol negotiated). */
  onWritable?: (this: WebSocketClient, byteLength: number) => void;
  /** A pong arrived (answer to ping()). */
  onPong?: (this: WebSocketClient) => void;
  /** The peer closed the connection (close frame or TCP end). */
  onClose?: (this: WebSocketClient, code: number, reason: string) => void;
  onError?: OnError<WebSocketClient>;
}

export interface WebSocketClient extends IoInstance {
  /** The message announced by the last onReadable. Throws when none is pending. */
  read(): ArrayBuffer;
  /** Sends one message; text unless `binary`. Throws before the connection is open or after close. */
  write(data: BufferLike, options?: { binary?: boolean }): void;
  /** Sends a WebSocket ping; the pong arrives through onPong. */
  ping(): void;
  /** The subprotocol the server accepted ("" when none). */
  readonly protocol: string;
}

export interface MQTTReadableInfo {
  topic: string;
  QoS: 0 | 1 | 2;
  retain: boolean;
}

export interface MQTTWriteOptions {
  topic: string;
  QoS?: 0 | 1;
  retain?: boolean;
}

export interface MQTTClientOptions {
  host: string;
  port?: number;
  /** Client identifier. */
  id: string;
  user?: string;
  password?: string;
  /** Keep-alive in ms; the client pings and treats a missing PINGRESP as a dead link (onError). */
  keepAlive?: number;
  clean?: boolean;
  will?: { topic: string; message: BufferLike; QoS?: 0 | 1; retain?: boolean };
  secure?: TlsOptions;
  onReadable?: (this: MQTTClient, byteLength: number, info: MQTTReadableInfo) => void;
  /** First call: CONNACK accepted. */
  onWritable?: (this: MQTTClient, byteLength: number) => void;
  onClose?: (this: MQTTClient) => void;
  onError?: OnError<MQTTClient>;
}

export interface MQTTClient extends IoInstance {
  /** The message announced by the last onReadable. */
  read(): ArrayBuffer;
  /** Publishes a message. Throws before CONNACK or after close. */
  write(data: BufferLike, options: MQTTWriteOptions): void;
  subscribe(topic: string, QoS?: 0 | 1): void;
  unsubscribe(topic: string): void;
}

/**
 * HTTP client, shaped after ECMA-419's HTTP client (embedded:network/http/client): one client per origin,
 * `request()` per exchange. Used for firmware downloads and diagnostics uploads.
 *
 * A request sends its head at once; a body (PUT/POST) is written with write() from onWritable and ended with
 * write(undefined) (give "content-length" in `headers`; the HAL may otherwise use chunked encoding). The
 * response comes as onHeaders(status, headers) (header names lower-case), then onReadable(n) while body bytes
 * are pending (read them), then onDone(null), or onDone(error) at any point once it failed. After onDone the
 * request is finished; close() on the request aborts it (no onDone follows).
 */
export interface HTTPClientOptions {
  host: string;
  /** Default 80 (443 with `secure`). */
  port?: number;
  /** Present: HTTPS with these parameters. */
  secure?: TlsOptions;
  onError?: OnError<HTTPClient>;
}

export interface HTTPRequestOptions {
  /** Default "GET". */
  method?: string;
  /** Path and query, starting with "/". Default "/". */
  path?: string;
  headers?: Record<string, string>;
  onHeaders?: (this: HTTPRequest, status: number, headers: Record<string, string>) => void;
  onReadable?: (this: HTTPRequest, byteLength: number) => void;
  /** Request body space: write at most byteLength bytes, then wait for the next call; write(undefined) ends. */
  onWritable?: (this: HTTPRequest, byteLength: number) => void;
  /** The exchange finished: null when the whole response was received, else why it failed. */
  onDone?: (this: HTTPRequest, error: HalError | null) => void;
}

export interface HTTPRequest {
  /** Reads up to byteLength bytes of the response body (all available when omitted). */
  read(byteLength?: number): ArrayBuffer;
  /** Writes request body bytes; undefined ends the body. Throws after the end or if more than onWritable allowed. */
  write(buffer: BufferLike | undefined): void;
  /** Aborts the exchange. Idempotent. */
  close(): void;
}

export interface HTTPClient extends IoInstance {
  request(options: HTTPRequestOptions): HTTPRequest;
}

/**
 * A network interface (an uplink) as the firmware sees it: not in ECMA-419, it follows its class pattern.
 * `new hal.network.WiFi({ onReadable })`: read() gives the link's state and quality; onReadable is called
 * whenever either changed (state at once, quality at most every few seconds). The same shape is offered by
 * the LTE driver in hal/drivers/lte for the cellular link.
 */
export type LinkState = "down" | "connecting" | "up";

export interface LinkInfo {
  state: LinkState;
  /** Received signal strength, dBm (Wi-Fi RSSI, LTE RSSI from AT+CSQ); null when unknown. */
  rssi: number | null;
  /** Link quality 0..100 (derived from the signal); null when unknown. */
  quality: number | null;
}

export interface LinkOptions {
  /** State or quality changed: read() has the new values. */
  onReadable?: (this: Link) => void;
  onError?: OnError<Link>;
}

export interface Link extends IoInstance {
  read(): LinkInfo;
}

export interface Network {
  TCP: IoClass<TCPOptions, TCP>;
  UDP: IoClass<UDPOptions, UDP>;
  WebSocketClient: IoClass<WebSocketClientOptions, WebSocketClient>;
  MQTTClient: IoClass<MQTTClientOptions, MQTTClient>;
  /** TCP listener (optional: needed by the ISO 15118 SECC's V2GTP server). */
  Listener?: IoClass<ListenerOptions, Listener>;
  /** HTTP(S) client (optional: a board without it cannot download firmware or upload diagnostics). */
  HTTPClient?: IoClass<HTTPClientOptions, HTTPClient>;
}

/** The network interfaces a board reports (hal.network.WiFi): kept apart from Network's socket classes. */
export interface NetworkInterfaces {
  /**
   * The Wi-Fi station whose connection TCP/WebSocketClient/MQTTClient above use (optional: a board without it
   * is taken as always connected; a board with an LTE modem fails over to the modem when it is down).
   */
  WiFi?: IoClass<LinkOptions, Link>;
  /**
   * The IPv6 interface on the PLC modem's link (ISO 15118 SDP and V2GTP), or null while it has none (optional: a
   * HAL without it cannot tell; the SECC then uses its configured address). Asked again at every use: the
   * link-local address appears once the interface is up.
   */
  plcInterface?(): Ipv6Interface | null;
}

/** An IPv6 network interface as the firmware needs it for link-local traffic. */
export interface Ipv6Interface {
  /** Interface name, the zone of its link-local addresses ("plc0" in "fe80::…%plc0"). */
  name: string;
  /** Numeric scope id (interface index), the zone in numeric form. */
  scopeId: number;
  /** Its IPv6 link-local address (fe80::/64, usually EUI-64 from the MAC) without zone; null while it has none. */
  linkLocal: string | null;
}
