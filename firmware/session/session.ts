/**
 * The charging session, protocol-neutral: who is authorized, whether a transaction runs, why it ended.
 * The control loop reads `authorized` / `stopRequested` every tick; the OCPP stack (and later MQTT and
 * ISO 15118) listen to its events and feed it identifications and remote commands.
 */

/** OCPP 1.6 ChargePointStatus values; 2.0.1 maps them onto its ConnectorStatus. */
export type ConnectorStatus = "Available" | "Preparing" | "Charging" | "SuspendedEVSE" | "SuspendedEV" | "Finishing" | "Reserved" | "Unavailable" | "Faulted";

/** Why a transaction ended (OCPP 1.6 Reason values). */
export type StopReason = "EmergencyStop" | "EVDisconnected" | "HardReset" | "Local" | "Other" | "PowerLoss" | "Reboot" | "Remote" | "SoftReset" | "UnlockCommand" | "DeAuthorized";

export type IdSource = "local" | "remote" | "free";

export interface SessionInfo {
  /** A local sequence number, unique per boot. */
  number: number;
  idTag: string;
  source: IdSource;
  /** Wall clock at start (ms since epoch), and whether the clock was synchronised then. */
  startWall: number;
  startSynced: boolean;
  /** Monotonic ms at start. */
  startMono: number;
  meterStartWh: number;
  meterStopWh: number;
  stopReason: StopReason | null;
  stopIdTag: string | null;
  /** The group the idTag belongs to (OCPP parentIdTag), when the authorization told it; a card of the same group may stop. */
  parentIdTag: string | null;
  /** The reservation this session used (OCPP reservationId), or null. */
  reservationId: number | null;
}

/** What an authorization learnt besides yes or no (OCPP idTagInfo). */
export interface AuthorizationInfo {
  parentIdTag?: string | null;
}

/** Decides whether an identification may charge (OCPP Authorize, local list, cache). */
export type Authorizer = (idTag: string, done: (accepted: boolean, detail: string, info?: AuthorizationInfo) => void) => void;

/** A reservation of the connector (OCPP ReserveNow): only its idTag, or one of the same parentIdTag, may use it. */
export interface ReservationInfo {
  id: number;
  idTag: string;
  parentIdTag: string | null;
}

/** Identifiers are case-insensitive (OCPP IdToken is a CiString). */
export function sameIdTag(a: string, b: string): boolean {
  return a === b || (a.length === b.length && a.toUpperCase() === b.toUpperCase());
}

function reservedFor(r: ReservationInfo, idTag: string, parentIdTag: string | null): boolean {
  return sameIdTag(r.idTag, idTag) || (r.parentIdTag !== null && parentIdTag !== null && sameIdTag(r.parentIdTag, parentIdTag));
}

export interface SessionListener {
  started?(session: SessionInfo): void;
  ended?(session: SessionInfo): void;
  status?(status: ConnectorStatus, errorCode: string): void;
  authorizationRejected?(idTag: string, detail: string): void;
  /** An identification was presented (before any authorization; e.g. the driver's card releasing a held cable). */
  presented?(idTag: string, source: IdSource): void;
}

export interface SessionClock {
  mono(): number;
  wall(): number;
  synced(): boolean;
  energyWh(): number;
}

export class Session {
  private _authorizedTag: string | null = null;
  private authSource: IdSource = "local";
  private authAt = 0;
  private _current: SessionInfo | null = null;
  private _stopRequested = false;
  private _available = true;
  private _status: ConnectorStatus = "Available";
  private _errorCode = "NoError";
  private plugged = false;
  private counter = 0;
  /** The socket's lock is engaged (always true without a lock): see setLocked(). */
  private lockOk = true;
  /**
   * Where session numbers come from (default: 1, 2, 3, ... per boot). The OCPP stack sets it so that numbers
   * stay unique across reboots (its transaction journal refers to sessions by number).
   */
  numbering: (() => number) | null = null;
  private pendingAuth: string | null = null;
  private readonly listeners: SessionListener[] = [];
  private authParent: string | null = null;
  /** The reservation the current authorization matched. */
  private authReservation: number | null = null;
  private _reservation: ReservationInfo | null = null;
  /** A different card presented during a transaction, being authorized to compare its parentIdTag. */
  private pendingStop: string | null = null;
  /** The last update() arguments, to derive the status when a reservation changes between ticks. */
  private lastCore = "";
  private lastFault = "";
  /**
   * update() fast path: `idle` says the last update() changed nothing (no plug change, the four state fields
   * below the same before and after it); idle* are its arguments and that state. See update().
   */
  private idle = false;
  private idleStatus = "";
  private idleFault = "";
  private idleTag: string | null = null;
  private idleCurrent: SessionInfo | null = null;
  private idleStop = false;
  private idleAvailable = true;
  /** The EV's state of charge, %, while known (see setEvSoc). */
  private _evSoc: number | null = null;

  constructor(
    private readonly clock: SessionClock,
    private readonly authorizer: Authorizer,
    private connectionTimeOutMs: number,
    /** When set, an EV that plugs in is authorized with this idTag (free charging). */
    private readonly freeTag: string | null = null,
  ) {}

  listen(listener: SessionListener): void {
    this.listeners.push(listener);
  }

  /**
   * An identification is authorized for this connector. A requested stop does not withdraw it (that is
   * `stopRequested`), so the core reports the stop as "stop", and "deauthorized" only when the backend
   * withdrew the authorization.
   */
  get authorized(): boolean {
    return this._authorizedTag !== null;
  }

  get stopRequested(): boolean {
    return this._stopRequested;
  }

  get available(): boolean {
    return this._available;
  }

  get current(): SessionInfo | null {
    return this._current;
  }

  get status(): ConnectorStatus {
    return this._status;
  }

  /**
   * The EV's state of charge in percent (0..100) as the car last reported it (ISO 15118 / DIN 70121
   * DC_EVStatus.EVRESSSOC), or null when none is known. Cleared when the session ends (after its `ended`
   * listeners ran, so the StopTransaction's Transaction.End values still carry the last one) and when the EV is
   * unplugged: a previous car's SoC is never reported.
   */
  get evSoc(): number | null {
    return this._evSoc;
  }

  /**
   * The EV reported its state of charge (%): a finite number in 0..100, else ignored (the previous value stays);
   * null clears it. Ignored while no EV is plugged in (a late message of a car that has left). Allocates nothing.
   */
  setEvSoc(soc: number | null): void {
    if (soc === null) {
      this._evSoc = null;
      return;
    }
    // NaN fails both comparisons; a non-number ("50") fails the typeof.
    if (typeof soc !== "number" || !(soc >= 0 && soc <= 100) || !this.plugged) return;
    this._evSoc = soc;
  }

  /** The reservation of the connector, or null. */
  get reservation(): ReservationInfo | null {
    return this._reservation;
  }

  /** Reserves the connector (null: the reservation ended). The status follows at once (Reserved / Available). */
  setReservation(r: ReservationInfo | null): void {
    this._reservation = r;
    if (this._current === null) this.setStatus(this.deriveStatus(this.plugged, this.lastCore, this.lastFault), this.lastFault ? faultCode(this.lastFault) : "NoError");
  }

  /** An identification was presented (RFID card, remote start, free charging). */
  present(idTag: string, source: IdSource): void {
    for (const l of this.listeners) l.presented?.(idTag, source);
    if (!this._available) return;
    const cur = this._current;
    if (cur) {
      if (source !== "local") return;
      // The same card again ends the session; a different one does when it has the same parentIdTag.
      if (sameIdTag(idTag, cur.idTag)) this.requestStop("Local", idTag);
      else if (cur.parentIdTag !== null && this.pendingStop === null) this.presentOther(cur, idTag);
      return;
    }
    if (this._authorizedTag !== null || this.pendingAuth !== null) return;
    const r = this._reservation;
    // A remote start (authorized already if AuthorizeRemoteTxRequests says so) needs an authorization only when
    // the connector is reserved for another idTag: its parentIdTag may still open it.
    if (source !== "local" && (r === null || sameIdTag(r.idTag, idTag))) {
      this.grant(idTag, source, null);
      return;
    }
    this.pendingAuth = idTag;
    this.authorizer(idTag, (accepted, detail, info) => {
      if (this.pendingAuth !== idTag) return;
      this.pendingAuth = null;
      const parent = info?.parentIdTag ?? null;
      const res = this._reservation;
      if (accepted && res !== null && !reservedFor(res, idTag, parent)) {
        accepted = false;
        detail = "Reserved";
      }
      if (accepted) this.grant(idTag, source, parent);
      else for (const l of this.listeners) l.authorizationRejected?.(idTag, detail);
    });
  }

  /** A card other than the one that started the transaction: it stops it if it belongs to the same parentIdTag. */
  private presentOther(cur: SessionInfo, idTag: string): void {
    this.pendingStop = idTag;
    this.authorizer(idTag, (accepted, detail, info) => {
      if (this.pendingStop !== idTag) return;
      this.pendingStop = null;
      const parent = info?.parentIdTag ?? null;
      if (this._current === cur && accepted && parent !== null && cur.parentIdTag !== null && sameIdTag(parent, cur.parentIdTag)) this.requestStop("Local", idTag);
      else for (const l of this.listeners) l.authorizationRejected?.(idTag, accepted ? "parentIdTag differs" : detail);
    });
  }

  private grant(idTag: string, source: IdSource, parentIdTag: string | null): void {
    const r = this._reservation;
    this.authParent = parentIdTag;
    this.authReservation = r !== null && reservedFor(r, idTag, parentIdTag) ? r.id : null;
    this._authorizedTag = idTag;
    this.authSource = source;
    this.authAt = this.clock.mono();
    this._stopRequested = false;
    this.maybeStart();
  }

  /** Ends the current session (or withdraws an authorization) with a reason. */
  requestStop(reason: StopReason, idTag: string | null = null): void {
    const cur = this._current;
    if (cur) {
      if (cur.stopReason === null) {
        cur.stopReason = reason;
        cur.stopIdTag = idTag;
      }
      this._stopRequested = true;
    } else {
      this._authorizedTag = null;
      this.pendingAuth = null;
    }
    this.pendingStop = null;
  }

  /** The backend withdrew the authorization of a running transaction (e.g. StartTransaction.conf Invalid). */
  deauthorize(): void {
    this.requestStop("DeAuthorized");
  }

  setAvailable(available: boolean): void {
    this._available = available;
    if (!available) this.requestStop("Other");
  }

  /** OCPP ConnectionTimeOut: how long an authorization waits for the EV to be plugged in, ms. */
  setConnectionTimeOut(ms: number): void {
    if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) throw new RangeError(`bad connection timeout ${String(ms)}`);
    this.connectionTimeOutMs = ms;
  }

  /**
   * The socket's cable lock is engaged (a board without a lock never calls this). A transaction starts only on a
   * locked socket; the control loop reports every change.
   */
  setLocked(locked: boolean): void {
    if (locked === this.lockOk) return;
    this.lockOk = locked;
    this.idle = false;
    if (locked) this.maybeStart();
  }

  /**
   * Called by the control loop when the EV connection or the charging state changes.
   * `plugged`: pilot in B, C or D. `energyFlowing` etc. come from the core's status.
   */
  update(plugged: boolean, coreStatus: string, fault: string): void {
    // Fast path (called every control tick): update() reads only its arguments, the plug state, the four fields
    // compared here (deriveStatus too), and the clock for the authorization expiry. When the arguments and those
    // fields are what they were at the last update() and that one changed nothing, this one would change nothing
    // either (status/errorCode are only written here and already hold the derived values) — unless the expiry
    // can fire (unplugged with an authorization), which depends on time alone: that case always runs in full.
    if (
      this.idle &&
      plugged === this.plugged &&
      coreStatus === this.idleStatus &&
      fault === this.idleFault &&
      this._authorizedTag === this.idleTag &&
      this._current === this.idleCurrent &&
      this._stopRequested === this.idleStop &&
      this._available === this.idleAvailable &&
      (plugged || this._authorizedTag === null)
    ) {
      return;
    }
    this.idle = false;
    const plugged0 = this.plugged;
    const tag0 = this._authorizedTag;
    const current0 = this._current;
    const stop0 = this._stopRequested;
    const available0 = this._available;
    this.updateFully(plugged, coreStatus, fault);
    if (plugged0 === plugged && tag0 === this._authorizedTag && current0 === this._current && stop0 === this._stopRequested && available0 === this._available) {
      this.idle = true;
      this.idleStatus = coreStatus;
      this.idleFault = fault;
      this.idleTag = tag0;
      this.idleCurrent = current0;
      this.idleStop = stop0;
      this.idleAvailable = available0;
    }
  }

  private updateFully(plugged: boolean, coreStatus: string, fault: string): void {
    const now = this.clock.mono();
    this.lastCore = coreStatus;
    this.lastFault = fault;
    if (plugged !== this.plugged) {
      this.plugged = plugged;
      if (!plugged) {
        if (this._current) {
          if (this._current.stopReason === null) this._current.stopReason = "EVDisconnected";
          this.end();
        }
        this._authorizedTag = null;
        this._stopRequested = false;
        this._evSoc = null;
      } else {
        if (this.freeTag !== null && this._authorizedTag === null && this._available && this._reservation === null) this.grant(this.freeTag, "free", null);
        else this.maybeStart();
      }
    }
    // Authorization without a car expires (OCPP ConnectionTimeOut).
    if (!plugged && this._authorizedTag !== null && now - this.authAt > this.connectionTimeOutMs) this._authorizedTag = null;
    // A stop request completes once the contactor is open.
    if (this._current && this._stopRequested && coreStatus !== "charging" && coreStatus !== "stopping") this.end();
    this.setStatus(this.deriveStatus(plugged, coreStatus, fault), fault ? faultCode(fault) : "NoError");
  }

  private maybeStart(): void {
    if (this._current || !this.plugged || this._authorizedTag === null || this._stopRequested || !this.lockOk) return;
    const r = this._reservation;
    const reservationId = r !== null && r.id === this.authReservation ? r.id : null;
    // The reservation is used up by the transaction it was made for.
    if (reservationId !== null) this._reservation = null;
    this._current = {
      number: this.numbering ? this.numbering() : ++this.counter,
      idTag: this._authorizedTag,
      source: this.authSource,
      startWall: this.clock.wall(),
      startSynced: this.clock.synced(),
      startMono: this.clock.mono(),
      meterStartWh: this.clock.energyWh(),
      meterStopWh: 0,
      stopReason: null,
      stopIdTag: null,
      parentIdTag: this.authParent,
      reservationId,
    };
    for (const l of this.listeners) l.started?.(this._current);
  }

  private end(): void {
    const cur = this._current!;
    cur.meterStopWh = this.clock.energyWh();
    if (cur.stopReason === null) cur.stopReason = "Other";
    this._current = null;
    this._authorizedTag = null;
    this._stopRequested = !this.plugged ? false : true;
    for (const l of this.listeners) l.ended?.(cur);
    // After the listeners: the StopTransaction (Transaction.End values) still sees the last SoC.
    this._evSoc = null;
  }

  private deriveStatus(plugged: boolean, coreStatus: string, fault: string): ConnectorStatus {
    if (fault) return "Faulted";
    if (!this._available && !this._current) return "Unavailable";
    if (!this._current && this._authorizedTag === null && this._reservation !== null) return "Reserved";
    if (!plugged) return this._authorizedTag !== null ? "Preparing" : "Available";
    if (!this._current) return this._stopRequested ? "Finishing" : "Preparing";
    switch (coreStatus) {
      case "charging":
        return "Charging";
      case "suspendedEV":
        return "SuspendedEV";
      case "connected":
      case "suspendedEVSE":
      case "switchingPhases":
        return "SuspendedEVSE";
      default:
        return "Charging";
    }
  }

  private setStatus(status: ConnectorStatus, errorCode: string): void {
    if (status === this._status && errorCode === this._errorCode) return;
    this._status = status;
    this._errorCode = errorCode;
    for (const l of this.listeners) l.status?.(status, errorCode);
  }
}

/** Maps a core fault to an OCPP 1.6 ChargePointErrorCode. */
export function faultCode(fault: string): string {
  switch (fault) {
    case "rcd":
      return "GroundFailure";
    case "weld":
    case "contactor":
      return "PowerSwitchFailure";
    case "overtemperature":
      return "HighTemperature";
    case "overdraw":
      return "OverCurrentFailure";
    case "proximity":
      return "ConnectorLockFailure";
    case "lock":
      return "ConnectorLockFailure";
    case "meter":
      return "PowerMeterFailure";
    default:
      return "OtherError";
  }
}
