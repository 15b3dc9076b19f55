/**
 * An AT-command channel over an ECMA-419 Serial port (3GPP TS 27.007 / V.250 framing), platform-neutral.
 *
 *  - One command in flight at a time, each with its own timeout (a modem that stops answering is reported to
 *    `onTimeout`, so the driver can probe and reset it).
 *  - Responses are lines ending in CR LF. Final result codes end a command: OK, ERROR, +CME ERROR: <n>,
 *    +CMS ERROR: <n>, and the data-mode finals SEND OK / SEND FAIL (Quectel AT+QISEND).
 *  - A line starting with "+NAME:" belongs to the command in flight when that command is AT+NAME (an
 *    information response); otherwise it is an unsolicited result code (URC) and goes to `onUrc`, as does every
 *    line that arrives while no command is in flight ("RDY", "+QIURC: ...", "+CEREG: 2").
 *  - Commands with a payload (AT+QISEND=<id>,<n>) wait for the "> " prompt (or a CONNECT line, AT+QFUPL),
 *    then the payload bytes are written.
 *  - Commands that read binary data (AT+QIRD) name the information line that announces the length
 *    ("+QIRD: <n>"): the next <n> bytes are taken verbatim, whatever they contain.
 */
import type { Serial, SerialOptions, TimerId, Timers, IoClass } from "../../index.js";

export interface AtResponse {
  /** True for OK / SEND OK. */
  ok: boolean;
  /** Information lines (without the command echo or the final code). */
  lines: string[];
  /** The final result code when it was not OK ("ERROR", "+CME ERROR: 30", "SEND FAIL", "timeout", "closed"). */
  error: string | null;
  /** The +CME / +CMS error number, or null. */
  cme: number | null;
  /** Binary data read after the `dataLine` information line. */
  data: Uint8Array | null;
}

export interface AtCommandOptions {
  timeoutMs: number;
  /** Bytes to send after the "> " prompt. */
  payload?: Uint8Array;
  /** Prefix of the information line carrying the byte count of binary data that follows ("+QIRD:"). */
  dataLine?: string;
}

interface Pending extends AtCommandOptions {
  text: string;
  /** "AT+QIRD" → "+QIRD": the information-response prefix. */
  info: string;
  done: (r: AtResponse) => void;
  lines: string[];
  data: Uint8Array | null;
  timer: TimerId;
  promptSent: boolean;
}

export interface AtChannelOptions {
  Serial: IoClass<SerialOptions, Serial>;
  serial: Omit<SerialOptions, "onReadable" | "onWritable" | "onError">;
  timers: Timers;
  onUrc: (line: string) => void;
  /** A command got no final result code within its timeout (its done() has already been called). */
  onTimeout: (command: string) => void;
  /** The serial port failed. */
  onSerialError?: (code: string) => void;
}

/** Result codes that are unsolicited whatever command is in flight (they answer an earlier command's OK). */
const ALWAYS_URC = ["+QIOPEN:", "+QSSLOPEN:", "+QIURC:", "+QSSLURC:"];

const CR = 13;
const LF = 10;

function isFinal(line: string): boolean {
  return line === "OK" || line === "ERROR" || line === "SEND OK" || line === "SEND FAIL" || line.startsWith("+CME ERROR:") || line.startsWith("+CMS ERROR:");
}

export class AtChannel {
  private readonly port: Serial;
  private readonly queue: Array<{ text: string; options: AtCommandOptions; done: (r: AtResponse) => void }> = [];
  private current: Pending | null = null;
  private rx = new Uint8Array(256);
  private rxLen = 0;
  /** Binary bytes still expected for the current command's data. */
  private dataLeft = 0;
  private dataAt = 0;
  private closed = false;
  readonly stats = { commands: 0, timeouts: 0, urcs: 0, errors: 0, bytesOut: 0, bytesIn: 0 };

  constructor(private readonly o: AtChannelOptions) {
    const self = this;
    this.port = new o.Serial({
      ...o.serial,
      onReadable(count: number) {
        if (count > 0) self.receive(new Uint8Array(this.read()));
      },
      onError(e) {
        o.onSerialError?.(e.code);
      },
    });
  }

  /** Queues a command ("AT+CSQ"); `done` gets the response (never called synchronously). */
  send(text: string, options: AtCommandOptions, done: (r: AtResponse) => void): void {
    if (this.closed) throw new Error("AT channel closed");
    this.queue.push({ text, options, done });
    if (!this.current) this.next();
  }

  /** Commands waiting, including the one in flight. */
  get busy(): number {
    return this.queue.length + (this.current ? 1 : 0);
  }

  /** Fails every pending command with `reason` and drops what was received (a modem reset). */
  abort(reason: string): void {
    const cur = this.current;
    this.current = null;
    const waiting = this.queue.splice(0);
    this.rxLen = 0;
    this.dataLeft = 0;
    if (cur) {
      this.o.timers.clear(cur.timer);
      cur.done({ ok: false, lines: cur.lines, error: reason, cme: null, data: null });
    }
    for (const w of waiting) w.done({ ok: false, lines: [], error: reason, cme: null, data: null });
    try {
      this.port.flush();
    } catch {
      // a closed port has nothing to flush
    }
  }

  close(): void {
    if (this.closed) return;
    this.abort("closed");
    this.closed = true;
    this.port.close();
  }

  private next(): void {
    const n = this.queue.shift();
    if (!n) return;
    const m = /^AT([+&][A-Z0-9]+)/i.exec(n.text);
    const pending: Pending = {
      ...n.options,
      text: n.text,
      info: m ? m[1]!.toUpperCase() + ":" : "\u0000",
      done: n.done,
      lines: [],
      data: null,
      timer: 0,
      promptSent: false,
    };
    this.current = pending;
    this.stats.commands++;
    pending.timer = this.o.timers.set(() => {
      if (this.current !== pending) return;
      this.current = null;
      this.dataLeft = 0;
      this.stats.timeouts++;
      pending.done({ ok: false, lines: pending.lines, error: "timeout", cme: null, data: null });
      this.o.onTimeout(pending.text);
      if (!this.current) this.next();
    }, n.options.timeoutMs);
    this.write(n.text + "\r");
  }

  private write(text: string | Uint8Array): void {
    let bytes: Uint8Array;
    if (typeof text === "string") {
      bytes = new Uint8Array(text.length);
      for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
    } else {
      bytes = text;
    }
    this.stats.bytesOut += bytes.length;
    this.port.write(bytes);
  }

  private receive(chunk: Uint8Array): void {
    this.stats.bytesIn += chunk.length;
    if (this.rxLen + chunk.length > this.rx.length) {
      const grown = new Uint8Array(Math.max(this.rx.length * 2, this.rxLen + chunk.length));
      grown.set(this.rx.subarray(0, this.rxLen));
      this.rx = grown;
    }
    this.rx.set(chunk, this.rxLen);
    this.rxLen += chunk.length;
    this.parse();
  }

  private consume(n: number): void {
    this.rx.copyWithin(0, n, this.rxLen);
    this.rxLen -= n;
  }

  private parse(): void {
    for (;;) {
      const cur = this.current;
      if (cur && this.dataLeft > 0) {
        const n = Math.min(this.dataLeft, this.rxLen);
        if (n === 0) return;
        cur.data!.set(this.rx.subarray(0, n), this.dataAt);
        this.dataAt += n;
        this.dataLeft -= n;
        this.consume(n);
        continue;
      }
      // The data prompt "> " has no line end.
      if (cur && cur.payload && !cur.promptSent && this.rxLen >= 1) {
        let i = 0;
        while (i < this.rxLen && (this.rx[i] === CR || this.rx[i] === LF)) i++;
        if (i < this.rxLen && this.rx[i] === 0x3e) {
          let j = i + 1;
          if (j < this.rxLen && this.rx[j] === 0x20) j++;
          this.consume(j);
          cur.promptSent = true;
          this.write(cur.payload);
          continue;
        }
      }
      let end = -1;
      for (let i = 0; i < this.rxLen; i++) {
        if (this.rx[i] === LF) {
          end = i;
          break;
        }
      }
      if (end < 0) {
        if (this.rxLen > 4096) this.rxLen = 0; // garbage without a line end: drop it
        return;
      }
      let line = "";
      for (let i = 0; i < end; i++) {
        const b = this.rx[i]!;
        if (b !== CR) line += String.fromCharCode(b);
      }
      this.consume(end + 1);
      if (line.length === 0) continue;
      // AT+QFUPL answers its command with CONNECT before taking the file's bytes.
      if (cur && cur.payload && !cur.promptSent && line === "CONNECT") {
        cur.promptSent = true;
        this.write(cur.payload);
        continue;
      }
      this.line(line);
    }
  }

  private line(line: string): void {
    const cur = this.current;
    if (!cur) {
      this.urc(line);
      return;
    }
    if (line === cur.text) return; // the command echo (ATE1)
    if (isFinal(line)) {
      this.current = null;
      this.o.timers.clear(cur.timer);
      const ok = line === "OK" || line === "SEND OK";
      const cme = /^\+CM[ES] ERROR: *(\d+)/.exec(line);
      if (!ok) this.stats.errors++;
      cur.done({ ok, lines: cur.lines, error: ok ? null : line, cme: cme ? parseInt(cme[1]!, 10) : null, data: cur.data });
      if (!this.current) this.next();
      return;
    }
    if (cur.dataLine && line.startsWith(cur.dataLine)) {
      const n = parseInt(line.slice(cur.dataLine.length).trim(), 10);
      cur.lines.push(line);
      if (n > 0 && !line.includes(",")) {
        cur.data = new Uint8Array(n);
        this.dataAt = 0;
        this.dataLeft = n;
      }
      return;
    }
    if (line.startsWith("+")) {
      if (ALWAYS_URC.some((p) => line.startsWith(p))) this.urc(line);
      else if (line.startsWith(cur.info)) cur.lines.push(line);
      else this.urc(line);
      return;
    }
    if (line === "RDY" || line === "APP RDY" || line === "POWERED DOWN" || line.startsWith("+QIURC:")) {
      this.urc(line);
      return;
    }
    cur.lines.push(line);
  }

  private urc(line: string): void {
    this.stats.urcs++;
    this.o.onUrc(line);
  }
}
