/**
 * Minimal local typings for Moddable modules that @moddable/typings 5.6.0 does not describe (or describes
 * out of date). Only what hal/moddable uses. Shapes taken from the Moddable SDK's module sources/docs.
 */

/** ECMA-419 flash storage (Moddable: modules/io/flash; esp32 and mac). Note: eraseBlock's `end` is EXCLUSIVE. */
declare module "embedded:storage/flash" {
  export interface Flash {
    close(): void;
    eraseBlock(start: number, end?: number): void;
    read(byteLength: number, byteOffset: number): ArrayBuffer;
    write(buffer: ArrayBuffer | Uint8Array | DataView, byteOffset: number): void;
    status(): { size: number; blockLength: number };
  }
  const FlashStorage: { open(options: { path: string; mode?: "r" | "r+" }): Flash };
  export default FlashStorage;
}

/** ECMA-419 WebSocket client (Moddable: examples/io/tcp/websocketclient). */
declare module "embedded:network/websocket/client" {
  export interface Options {
    host: string;
    port?: number;
    path?: string;
    protocol?: string;
    headers?: Map<string, string>;
    dns: Record<string, unknown>;
    socket: Record<string, unknown>;
    onReadable?: (this: WebSocketClient, count: number, options: { more: boolean; binary: boolean }) => void;
    onWritable?: (this: WebSocketClient, count: number) => void;
    onControl?: (this: WebSocketClient, opcode: number, data: ArrayBuffer) => void;
    onClose?: (this: WebSocketClient) => void;
    onError?: (this: WebSocketClient) => void;
  }
  export default class WebSocketClient {
    constructor(options: Options);
    close(): void;
    read(count: number): ArrayBuffer;
    write(data: ArrayBuffer | Uint8Array | DataView, options?: { binary?: boolean; opcode?: number; more?: boolean }): number;
  }
}

/** Moddable crypt: Digest (modules/crypt/digest). */
declare module "crypt" {
  export class Digest {
    constructor(type: "SHA1" | "SHA256" | "SHA384" | "SHA512");
    write(message: string | ArrayBuffer): void;
    close(): ArrayBuffer;
  }
}

/** Moddable crypt/etc: random numbers from the platform RNG. */
declare module "rng" {
  const RNG: { get(byteLength: number): ArrayBuffer };
  export default RNG;
}

/** Moddable crypt/arith: an elliptic-curve point. */
declare module "ecp" {
  export default class ECPoint {
    constructor(x: bigint, y: bigint);
    readonly X: bigint;
    readonly Y: bigint;
  }
}

/** Moddable crypt/etc: named curves; dh(privateKey) returns the uncompressed SEC1 public point. */
declare module "curve" {
  export default class Curve {
    constructor(name: "secp256r1" | "secp384r1");
    readonly n: bigint;
    readonly orderSize: number;
    dh(privateKey: ArrayBuffer, peer?: ArrayBuffer): ArrayBuffer;
  }
}

/** Moddable crypt/etc: ECDSA; key is the private scalar (sign) or the public point (verify). Raw r||s signatures. */
declare module "ecdsa" {
  import type Curve from "curve";
  import type ECPoint from "ecp";
  export default class ECDSA {
    constructor(key: bigint | ECPoint, curve: Curve);
    sign(hash: ArrayBuffer): ArrayBuffer;
    verify(hash: ArrayBuffer, signature: ArrayBuffer): boolean;
  }
}
