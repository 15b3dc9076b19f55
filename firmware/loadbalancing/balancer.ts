/**
 * Local load balancing: several chargers share one site limit over MQTT and turn their share into the "site"
 * claim of the limit arbiter. Two modes (config loadBalancing):
 *  - "meter":  a site meter publishes the site's total current per line; each charger takes its measured
 *              current plus an equal share of the headroom (the whole excess is shed when over the limit);
 *  - "leader": the charger with the lowest id among the live ones (heartbeats) divides the budget
 *              (allocate.ts) and publishes the allocation; the others apply their entry.
 * Failsafe: no valid feed/allocation for siteSilenceTimeoutMs (a one-shot timer re-armed by every valid
 * message, never polling), or the broker connection lost: the claim drops at once to min(claim, failsafe);
 * after one more silence timeout without news it becomes siteFailsafeCurrent (by then every peer that heard
 * the same last message has dropped too). The control loop reads the arbiter every period (a cut also kicks it).
 *
 * Uses hal.network.MQTTClient directly (its own client id `<chargePointId>-lb`).
 */
import type { Hal, MQTTClient, TimerId } from "../../hal/index.js";
import type { LimitArbiter } from "../control/arbiter.js";
import { allocate, newPeerState, type AllocParams, type PeerDemand, type PeerState } from "./allocate.js";
import { decodeAllocation, decodeHeartbeat, decodeMeter, encodeAllocation, encodeHeartbeat, text, type Heartbeat } from "./codec.js";

export type BalancingMode = "meter" | "leader";

export interface BalancerConfig {
  mode: BalancingMode;
  id: string;
  group: string;
  host: string;
  port: number;
  /** Site budget, A per line. */
  limit: number;
  failsafe: number;
  minCurrent: number;
  silenceMs: number;
  heartbeatMs: number;
  reactionMs: number;
  rotationMs: number;
  marginA: number;
  rampA: number;
  forgetMs: number;
}

/** What the balancer needs to know about its own charger (sampled at heartbeat / feed rate). */
export interface ChargerView {
  /** A session wants current. */
  active(): boolean;
  /** Lines used (bit mask 1|2|4, 7 = three-phase). */
  lines(): number;
  /** The most the charger could take, A (its claims other than "site"). */
  want(): number;
  /** Measured current, A (largest phase). */
  use(): number;
}

interface Peer {
  hb: Heartbeat | null;
  lastSeen: number;
  departed: boolean;
  departedAt: number;
}

export interface BalancerStatus {
  mode: BalancingMode;
  connected: boolean;
  leader: string | null;
  failsafe: boolean;
  claim: number;
  reason: string;
  peers: number;
  stats: BalancerStats;
}

export interface BalancerStats {
  allocationsPublished: number;
  allocationsApplied: number;
  meterUpdates: number;
  failsafeEntries: number;
  badInputs: number;
  connects: number;
  /** Clock time of the last failsafe entry (-1: none). */
  lastFailsafeAt: number;
}

const RECONNECT_MIN_MS = 1_000;
const RECONNECT_MAX_MS = 30_000;
const LINES = [1, 2, 4];

function floor1(x: number): number {
  return Math.floor(x * 10 + 1e-9) / 10;
}

export class SiteBalancer {
  private client: MQTTClient | null = null;
  private connected = false;
  private backoff = RECONNECT_MIN_MS;
  private reconnectTimer: TimerId | 0 = 0;
  private hbTimer: TimerId | 0 = 0;
  private silenceTimer: TimerId | 0 = 0;
  private stage2Timer: TimerId | 0 = 0;
  private listenUntil = 0;
  private readonly peers = new Map<string, Peer>();
  private allocState = new Map<string, PeerState>();
  private queue: string[] = [];
  /** The last allocation heard or published: id -> A (seeds a new leader's memory). */
  private lastGrants = new Map<string, number>();
  private leading = false;
  private seq = 0;
  private claimAmps = 0;
  private claimReason = "";
  private inFailsafe = false;
  private stopped = false;
  private readonly topics: { hb: string; hbAll: string; alloc: string; meter: string; error: string };
  private readonly params: AllocParams;
  readonly stats: BalancerStats = { allocationsPublished: 0, allocationsApplied: 0, meterUpdates: 0, failsafeEntries: 0, badInputs: 0, connects: 0, lastFailsafeAt: -1 };

  constructor(
    private readonly hal: Hal,
    private readonly cfg: BalancerConfig,
    private readonly arbiter: LimitArbiter,
    private readonly view: ChargerView,
    private readonly kick: () => void = () => {},
  ) {
    const base = `lb/${cfg.group}`;
    this.topics = { hb: `${base}/hb/${cfg.id}`, hbAll: `${base}/hb/+`, alloc: `${base}/alloc`, meter: `${base}/meter`, error: `${base}/error/${cfg.id}` };
    this.params = {
      limit: cfg.limit,
      minCurrent: cfg.minCurrent,
      failsafe: cfg.failsafe,
      margin: cfg.marginA,
      rampA: cfg.rampA,
      reactionMs: cfg.reactionMs,
      rotationMs: cfg.rotationMs,
      graceMs: cfg.reactionMs,
      forgetMs: cfg.forgetMs,
    };
  }

  start(): void {
    // Until the first allocation or meter reading: nothing; silence then leads to the failsafe current.
    this.setClaim(0, "site: waiting for the site feed");
    this.armSilence();
    this.hbTimer = this.hal.timers.set(() => this.tick(), this.cfg.heartbeatMs, this.cfg.heartbeatMs);
    this.connect();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of [this.reconnectTimer, this.hbTimer, this.silenceTimer, this.stage2Timer]) if (t) this.hal.timers.clear(t);
    this.reconnectTimer = this.hbTimer = this.silenceTimer = this.stage2Timer = 0;
    this.dropClient();
  }

  status(): BalancerStatus {
    return {
      mode: this.cfg.mode,
      connected: this.connected,
      leader: this.cfg.mode === "leader" ? this.leaderId() : null,
      failsafe: this.inFailsafe,
      claim: this.claimAmps,
      reason: this.claimReason,
      peers: this.peers.size,
      stats: { ...this.stats },
    };
  }

  // ---------------------------------------------------------------- connection

  private connect(): void {
    this.reconnectTimer = 0;
    if (this.stopped) return;
    const self = this;
    try {
      this.client = new this.hal.network.MQTTClient({
        host: this.cfg.host,
        port: this.cfg.port,
        id: `${this.cfg.id}-lb`,
        keepAlive: Math.max(1_000, this.cfg.silenceMs),
        clean: true,
        will: { topic: this.topics.hb, message: new Uint8Array(0), QoS: 0, retain: false },
        onWritable() {
          if (this !== self.client || self.connected) return;
          self.onConnected();
        },
        onReadable(_n, info) {
          if (this !== self.client) return;
          const data = new Uint8Array(this.read());
          self.onMessage(info.topic, data);
        },
        onClose() {
          if (this === self.client) self.onLost("closed by the broker");
        },
        onError(e) {
          if (this === self.client) self.onLost(e.code);
        },
      });
    } catch (e) {
      this.client = null;
      this.hal.log.event("site", { event: "connect-failed", message: (e as Error).message });
      this.scheduleReconnect();
    }
  }

  private onConnected(): void {
    const c = this.client!;
    this.connected = true;
    this.stats.connects++;
    this.backoff = RECONNECT_MIN_MS;
    this.listenUntil = this.hal.clock.now() + 2 * this.cfg.heartbeatMs + 1;
    this.hal.log.event("site", { event: "connected", mode: this.cfg.mode });
    try {
      c.subscribe(this.topics.hbAll, 0);
      c.subscribe(this.cfg.mode === "leader" ? this.topics.alloc : this.topics.meter, 0);
    } catch (e) {
      this.onLost((e as Error).message);
      return;
    }
    this.publishHeartbeat();
  }

  private onLost(code: string): void {
    const wasConnected = this.connected;
    this.dropClient();
    this.hal.log.event("site", { event: "disconnected", code, wasConnected });
    this.enterFailsafe(`broker ${code}`);
    this.scheduleReconnect();
  }

  private dropClient(): void {
    const c = this.client;
    this.client = null;
    this.connected = false;
    this.leading = false;
    if (c) {
      try {
        c.close();
      } catch {
        // already closed
      }
    }
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer) return;
    const delay = this.backoff;
    this.backoff = Math.min(RECONNECT_MAX_MS, this.backoff * 2);
    this.reconnectTimer = this.hal.timers.set(() => this.connect(), delay);
  }

  private publish(topic: string, payload: Uint8Array): void {
    const c = this.client;
    if (!c || !this.connected) return;
    try {
      c.write(payload, { topic, QoS: 0 });
    } catch (e) {
      this.onLost((e as Error).message);
    }
  }

  private refuse(what: string, reason: string): void {
    this.stats.badInputs++;
    this.hal.log.event("site", { event: "bad-input", what, reason });
    this.publish(this.topics.error, text(`${what}: ${reason}`));
  }

  // ---------------------------------------------------------------- messages

  private onMessage(topic: string, data: Uint8Array): void {
    const hbPrefix = `lb/${this.cfg.group}/hb/`;
    if (topic.startsWith(hbPrefix)) {
      const id = topic.slice(hbPrefix.length);
      if (id === this.cfg.id) return;
      if (data.length === 0) {
        const p = this.peers.get(id);
        if (p && !p.departed) {
          p.departed = true;
          p.departedAt = this.hal.clock.now();
          this.hal.log.event("site", { event: "peer-gone", peer: id });
        }
        return;
      }
      const hb = decodeHeartbeat(data, id);
      if (typeof hb === "string") return this.refuse(`heartbeat ${id}`, hb);
      const p = this.peers.get(id);
      if (!p && this.peers.size >= 64) return this.refuse(`heartbeat ${id}`, "too many peers");
      if (!p) this.hal.log.event("site", { event: "peer", peer: id });
      this.peers.set(id, { hb, lastSeen: this.hal.clock.now(), departed: false, departedAt: 0 });
      return;
    }
    if (topic === this.topics.alloc && this.cfg.mode === "leader") {
      const a = decodeAllocation(data);
      if (typeof a === "string") return this.refuse("allocation", a);
      if (a.by === this.cfg.id) return; // our own echo
      const now = this.hal.clock.now();
      // A lower id than every live one we know: it is alive (we have not heard its heartbeat yet).
      const known = this.peers.get(a.by);
      if (known) {
        known.lastSeen = now;
        known.departed = false;
      } else if (a.by < this.leaderId()) this.peers.set(a.by, { hb: null, lastSeen: now, departed: false, departedAt: 0 });
      if (a.by !== this.leaderId()) return; // a stale leader: ignore
      this.leading = false;
      this.lastGrants = new Map(a.a);
      this.queue = a.q;
      const mine = this.lastGrants.get(this.cfg.id) ?? 0;
      this.stats.allocationsApplied++;
      this.apply(mine, `site allocation by ${a.by}`);
      return;
    }
    if (topic === this.topics.meter && this.cfg.mode === "meter") {
      const lines = decodeMeter(data);
      if (typeof lines === "string") return this.refuse("meter", lines);
      this.stats.meterUpdates++;
      this.meterUpdate(lines);
    }
  }

  /** A fresh allocation or feed: leave the failsafe, re-arm the silence timer. */
  private apply(amps: number, reason: string): void {
    if (this.inFailsafe) {
      this.inFailsafe = false;
      if (this.stage2Timer) this.hal.timers.clear(this.stage2Timer);
      this.stage2Timer = 0;
      this.hal.log.event("site", { event: "failsafe-end" });
    }
    this.armSilence();
    this.setClaim(amps, reason);
  }

  private setClaim(amps: number, reason: string): void {
    const lower = amps < this.claimAmps;
    this.claimAmps = amps;
    this.claimReason = reason;
    this.arbiter.set("site", amps, reason);
    if (lower) this.kick();
  }

  private armSilence(): void {
    if (this.silenceTimer) this.hal.timers.clear(this.silenceTimer);
    this.silenceTimer = this.hal.timers.set(() => {
      this.silenceTimer = 0;
      this.enterFailsafe(this.cfg.mode === "leader" ? "leader silent" : "site meter silent");
    }, this.cfg.silenceMs);
  }

  private enterFailsafe(why: string): void {
    if (this.silenceTimer) this.hal.timers.clear(this.silenceTimer);
    this.silenceTimer = 0;
    if (this.inFailsafe) return;
    this.inFailsafe = true;
    this.stats.failsafeEntries++;
    this.stats.lastFailsafeAt = this.hal.clock.now();
    this.hal.log.event("site", { event: "failsafe", why, amps: Math.min(this.claimAmps, this.cfg.failsafe) });
    this.setClaim(Math.min(this.claimAmps, this.cfg.failsafe), `site failsafe (${why})`);
    this.stage2Timer = this.hal.timers.set(() => {
      this.stage2Timer = 0;
      if (this.inFailsafe) this.setClaim(this.cfg.failsafe, `site failsafe (${why})`);
    }, this.cfg.silenceMs);
  }

  // ---------------------------------------------------------------- periodic work

  private tick(): void {
    const now = this.hal.clock.now();
    for (const [id, p] of this.peers) {
      if (!p.departed && now - p.lastSeen >= this.cfg.silenceMs) {
        p.departed = true;
        p.departedAt = now;
        this.hal.log.event("site", { event: "peer-silent", peer: id });
      }
      if (p.departed && now - p.departedAt >= this.cfg.forgetMs) this.peers.delete(id);
    }
    if (!this.connected) return;
    this.publishHeartbeat();
    if (this.cfg.mode === "leader" && now >= this.listenUntil && this.leaderId() === this.cfg.id) this.lead(now);
  }

  private publishHeartbeat(): void {
    this.publish(this.topics.hb, encodeHeartbeat({ id: this.cfg.id, act: this.view.active(), ln: this.view.lines(), want: this.view.want(), use: this.view.use(), al: this.claimAmps }));
  }

  /** The lowest id among this charger and the live peers. */
  private leaderId(): string {
    let best = this.cfg.id;
    for (const [id, p] of this.peers) if (!p.departed && id < best) best = id;
    return best;
  }

  private lead(now: number): void {
    if (!this.leading) {
      // Taking over: start from the last allocation heard, every grant counted as if just cut (the previous
      // leader may have cut some within the reaction time).
      this.leading = true;
      this.allocState = new Map();
      for (const [id, g] of this.lastGrants) this.allocState.set(id, { ...newPeerState(g), hi: g, hiUntil: now + this.cfg.reactionMs });
      this.hal.log.event("site", { event: "leader", peers: this.peers.size });
    }
    const demands: PeerDemand[] = [
      { id: this.cfg.id, lines: this.view.lines(), active: this.view.active(), want: this.view.want(), use: this.view.use(), departed: false, departedAt: 0 },
    ];
    for (const [id, p] of this.peers) {
      const hb = p.hb;
      demands.push({
        id,
        lines: hb ? hb.ln : 7,
        active: hb ? hb.act : false,
        want: hb ? hb.want : 0,
        use: hb ? hb.use : 0,
        departed: p.departed || hb === null,
        departedAt: p.departed ? p.departedAt : now,
      });
    }
    const r = allocate(now, demands, this.allocState, this.queue, this.params);
    this.queue = r.queue;
    this.lastGrants = r.grants;
    const a: Array<[string, number]> = [];
    for (const [id, g] of r.grants) a.push([id, g]);
    this.seq++;
    this.publish(this.topics.alloc, encodeAllocation({ by: this.cfg.id, seq: this.seq, a, q: r.queue }));
    this.stats.allocationsPublished++;
    this.apply(r.grants.get(this.cfg.id) ?? 0, "site allocation (leader)");
  }

  /** Meter mode: own current plus an equal share of the headroom on the lines used; the whole excess shed. */
  private meterUpdate(site: readonly number[]): void {
    const lines = this.view.lines();
    const use = this.view.use();
    const want = this.view.want();
    const p = this.params;
    let n = this.view.active() ? 1 : 0;
    for (const peer of this.peers.values()) if (!peer.departed && peer.hb?.act) n++;
    let over = -Infinity;
    let headroom = Infinity;
    for (let l = 0; l < 3; l++) {
      if (!(lines & LINES[l]!)) continue;
      over = Math.max(over, site[l]! - p.limit);
      headroom = Math.min(headroom, p.limit - site[l]!);
    }
    let c: number;
    if (over > 0) c = Math.max(0, use - over - p.margin);
    else {
      c = Math.min(want, use + Math.max(0, headroom / Math.max(1, n) - p.margin));
      if (c > this.claimAmps) c = Math.min(c, Math.max(this.claimAmps + p.rampA, p.minCurrent + p.margin));
    }
    c = floor1(c);
    const paused = this.claimAmps < p.minCurrent;
    if (c < p.minCurrent || (paused && c < p.minCurrent + p.margin)) c = 0;
    this.apply(c, over > 0 ? "site meter: over the limit" : "site meter headroom");
  }
}
