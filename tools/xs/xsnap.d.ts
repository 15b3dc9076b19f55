/** The part of @agoric/xsnap's Node API the bridge uses (the package ships JS with JSDoc only). */
declare module "@agoric/xsnap" {
  export interface XsnapMeterUsage {
    meterType: string;
    compute: number | null;
    allocate: number | null;
    currentHeapCount: number | null;
    timestamps: number[] | null;
  }
  export interface XsnapRunResult<T> {
    reply: T;
    meterUsage: XsnapMeterUsage;
  }
  export interface XsnapOptions {
    os: string;
    spawn: typeof import("node:child_process").spawn;
    fs: unknown;
    handleCommand?: (request: Uint8Array) => Promise<Uint8Array>;
    name?: string;
    debug?: boolean;
    netstringMaxChunkSize?: number;
    parserBufferSize?: number;
    stdout?: "ignore" | "inherit" | "pipe";
    stderr?: "ignore" | "inherit" | "pipe";
    meteringLimit?: number;
    env?: Record<string, string | undefined>;
  }
  export interface XsnapWorker {
    name: string;
    evaluate(code: string): Promise<XsnapRunResult<Uint8Array>>;
    issueCommand(message: Uint8Array): Promise<XsnapRunResult<Uint8Array>>;
    issueStringCommand(message: string): Promise<XsnapRunResult<string>>;
    execute(fileName: string): Promise<void>;
    isReady(): Promise<void>;
    close(): Promise<void>;
    terminate(): Promise<void>;
  }
  export function xsnap(options: XsnapOptions): Promise<XsnapWorker>;
}
