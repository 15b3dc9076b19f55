/**
 * The socket's cable lock, driven by the control loop: locked while a session is authorized and the EV is
 * plugged, and always while the contactor is closed; released once the contactor is open and the session is
 * over (or a stop was requested). A position switch that does not follow the command within LOCK_TIMEOUT_MS is
 * a lock failure:
 *  - failing to LOCK: the lock is released again and no transaction starts (the session sees fault "lock",
 *    OCPP ConnectorLockFailure); the fault clears when the EV is unplugged;
 *  - failing to UNLOCK: the unlock is retried every UNLOCK_RETRY_MS; the fault clears when it succeeds.
 * A board with a fixed cable (or without a lock device) has none: `engaged` is always true.
 * With holdOnEvDisconnect (OCPP UnlockConnectorOnEVSideDisconnect = false) an EV-side unplug keeps it engaged.
 *
 * No allocation and no HAL call per tick: the feedback arrives through onReadable and is read after each write.
 */
import type { ConnectorLock, Hal } from "../../hal/index.js";

/** The feedback must follow a command within this long, ms. */
export const LOCK_TIMEOUT_MS = 1000;
/** A lock that failed to open is tried again this often, ms. */
export const UNLOCK_RETRY_MS = 5000;

export class ConnectorLockControl {
  private readonly dev: ConnectorLock | null;
  private cmd: 0 | 1 = 0;
  private pos: 0 | 1 = 0;
  /** When the pending command was written (the position differs from it). */
  private since = 0;
  private _fault = false;
  /** The fault happened while locking (true) or unlocking (false). */
  private faultLocking = false;
  private retryAt = 0;
  /** Counters for tests and diagnostics. */
  readonly stats = { writes: 0, failures: 0 };
  /**
   * OCPP UnlockConnectorOnEVSideDisconnect = false: when the EV side of the cable is unplugged while the lock is
   * engaged, the lock stays engaged (`held`) until release() (the driver's card) or unlock() (UnlockConnector).
   */
  holdOnEvDisconnect = false;
  private _held = false;
  private wasPlugged = false;

  constructor(hal: Hal, onChange: () => void, onError: (code: string, message: string) => void) {
    const Lock = hal.io.ConnectorLock;
    let dev: ConnectorLock | null = null;
    if (!hal.board.tetheredCable && Lock !== undefined) {
      const self = this;
      try {
        dev = new Lock({
          onReadable() {
            // A change the last write() already read back needs no extra control tick.
            const p = this.read();
            if (p !== self.pos) {
              self.pos = p;
              onChange();
            }
          },
          onError(e) {
            onError(e.code, e.message);
          },
        });
      } catch (e) {
        onError("absent", (e as Error).message);
      }
    }
    this.dev = dev;
    if (dev !== null) {
      this.pos = dev.read();
      this.cmd = this.pos;
    }
  }

  /** The board has a socket lock. */
  get present(): boolean {
    return this.dev !== null;
  }

  /** The lock is engaged (always true without a lock: nothing to wait for). */
  get engaged(): boolean {
    return this.dev === null || this.pos === 1;
  }

  /** The position switch did not follow the command (ConnectorLockFailure). */
  get fault(): boolean {
    return this._fault;
  }

  /** The position switch: 1 locked, 0 unlocked (0 without a lock). */
  get position(): 0 | 1 {
    return this.pos;
  }

  /**
   * Called every control tick. `plugged`: an EV is connected; `want`: the lock should be engaged (the caller
   * also wants it whenever the contactor is closed).
   */
  update(now: number, plugged: boolean, want: boolean): void {
    if (this.dev === null) return;
    if (plugged !== this.wasPlugged) {
      this.wasPlugged = plugged;
      if (!plugged && this.holdOnEvDisconnect && this.cmd === 1 && !this._fault) this._held = true;
    }
    if (plugged && want) this._held = false; // a new authorized session owns the lock
    if (this._fault && this.faultLocking && !plugged) this._fault = false;
    const target: 0 | 1 = (want || this._held) && !(this._fault && this.faultLocking) ? 1 : 0;
    if (target !== this.cmd) {
      this.write(target, now);
      return;
    }
    if (this.pos === this.cmd) {
      if (this._fault && !this.faultLocking) this._fault = false;
      return;
    }
    if (!this._fault) {
      if (now - this.since >= LOCK_TIMEOUT_MS) {
        this._fault = true;
        this.faultLocking = this.cmd === 1;
        this.stats.failures++;
        this.retryAt = now + UNLOCK_RETRY_MS;
        if (this.faultLocking) this.write(0, now); // give the cable back; no transaction on a socket we cannot lock
      }
    } else if (!this.faultLocking && now >= this.retryAt) {
      this.retryAt = now + UNLOCK_RETRY_MS;
      this.write(0, now);
    }
  }

  /**
   * Unlocks now (OCPP UnlockConnector). The caller makes sure the contactor is open. Returns true when the
   * position switch shows the lock open.
   */
  unlock(now: number): boolean {
    if (this.dev === null) return false;
    this._held = false;
    this.write(0, now);
    if (this.pos === 0) {
      this._fault = false;
      return true;
    }
    // The actuator did not move within the call: a slow one may still get there (update() times it out).
    return false;
  }

  /** The lock is held after an EV-side disconnect (holdOnEvDisconnect). */
  get held(): boolean {
    return this._held;
  }

  /** Ends the hold after an EV-side disconnect; the next update() unlocks (unless a session wants the lock). */
  release(): void {
    this._held = false;
  }

  private write(value: 0 | 1, now: number): void {
    const d = this.dev!;
    this.cmd = value;
    this.since = now;
    this.stats.writes++;
    d.write(value);
    this.pos = d.read();
  }

  close(): void {
    this.dev?.close();
  }
}
