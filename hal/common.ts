/**
 * Shared shapes of the HAL contract.
 *
 * Every device class follows the ECMA-419 class pattern:
 *  - it is constructed with one options object;
 *  - it is used through read() / write() / close();
 *  - it reports through onReadable / onWritable / onError callbacks given in the options,
 *    called with `this` bound to the instance;
 *  - misuse (a closed instance, an out-of-range value, a wrong type) throws synchronously;
 *    a failure of the world (a socket reset, a chip that stops answering) arrives via onError.
 *
 * Values that cross the HAL are plain numbers, strings, booleans, ArrayBuffers and small records:
 * that keeps the contract implementable on XS, on Node and across the XS bridge used in CI.
 */

/** Bytes in, the ECMA-419 way: any of these is accepted where the contract takes a buffer. */
export type BufferLike = ArrayBuffer | Uint8Array | DataView;

/** The base every HAL device instance shares. */
export interface IoInstance {
  /** Releases the device. Further calls throw. Idempotent. */
  close(): void;
}

/** Error callback signature: `this` is the instance. The argument says what happened. */
export type OnError<T> = (this: T, error: HalError) => void;

/** What onError receives. `code` is stable and machine-readable; `message` is for logs. */
export interface HalError {
  code: string;
  message: string;
}

/** Constructor shape used for every device class: `new hal.io.X(options)`. */
export interface IoClass<Options, Instance> {
  new (options: Options): Instance;
}
