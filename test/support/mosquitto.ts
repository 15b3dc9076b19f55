/**
 * Starts a throw-away mosquitto broker on 127.0.0.1 and a free port, for MQTT tests.
 * `findMosquitto()` installs Debian's mosquitto when it is absent (as .ci/run does; needs root and apt-get) and is
 * null only when that is impossible: the MQTT tests then FAIL, saying why — they are never skipped.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const CANDIDATES = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto", "/usr/local/bin/mosquitto"];

let installTried = false;

export function findMosquitto(): string | null {
  const found = CANDIDATES.find((p) => existsSync(p));
  if (found || installTried) return found ?? null;
  installTried = true;
  // The test setup installs the broker when absent, as .ci/run does (Debian's package; root only).
  if (typeof process.getuid === "function" && process.getuid() === 0 && existsSync("/usr/bin/apt-get")) {
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    spawnSync("apt-get", ["update", "-qq"], { stdio: "ignore", env, timeout: 300_000 });
    spawnSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "mosquitto"], { stdio: "ignore", env, timeout: 300_000 });
  }
  return CANDIDATES.find((p) => existsSync(p)) ?? null;
}

export interface Broker {
  port: number;
  process: ChildProcess;
  /** Kills the broker (SIGKILL by default) and waits for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Stops the broker and removes its files. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
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

async function waitListening(port: number, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port });
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`mosquitto did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startMosquitto(): Promise<Broker | null> {
  const bin = findMosquitto();
  if (!bin) return null;
  const dir = mkdtempSync(join(tmpdir(), "mosquitto-"));
  const port = await freePort();
  const conf = join(dir, "mosquitto.conf");
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, "allow_anonymous true", "persistence false", "log_dest none", ""].join("\n"));
  const child = spawn(bin, ["-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once("exit", () => ((exited = true), resolve())));
  try {
    await waitListening(port, 5000);
  } catch (err) {
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const kill = async (signal: NodeJS.Signals = "SIGKILL") => {
    if (!exited) child.kill(signal);
    await exit;
  };
  return {
    port,
    process: child,
    kill,
    async stop() {
      await kill("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
