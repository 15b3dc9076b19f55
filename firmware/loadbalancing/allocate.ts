/**
 * The leader's allocation: divides a per-line site budget among the chargers of a group. Pure arithmetic,
 * no I/O, no clock (the caller passes `now`): unit-tested on its own and run by whichever charger leads.
 *
 * Policy (see README.md):
 *  1. Departed peers (silent, or their will was published) keep a reservation of `failsafe` A on their lines:
 *     a charger cut off from the broker falls back to the failsafe current, and the leader cannot tell a
 *     power-cut charger from a partitioned one. Reservations end when the peer returns or after `forgetMs`.
 *  2. Admission (min `minCurrent` A per active session, per line): active sessions are taken in ROTATION
 *     order (`queue`); a session is admitted when every line it uses can still give it `minCurrent` on top
 *     of the sessions admitted before it; the others pause (0 A). When a session is paused while another has
 *     been admitted for `rotationMs`, that one moves to the end of the queue: paused sessions take turns.
 *  3. Fair share: water-filling per line among the admitted sessions, each up to its demand. Demand = what the
 *     charger could take (`want`, its other claims) limited by give-back: after `graceMs` of charging, an EV
 *     drawing less than its grant minus `margin` gets `use + margin` (its share goes to the others); one that
 *     uses its grant may grow by `rampA` per allocation.
 *  4. Commit: cuts are granted at once; a raise only within what the lines have left once every cut that is
 *     less than `reactionMs` old still counts at its old value (an EV may take that long to follow the pilot),
 *     so the sum of the currents the EVs may draw never exceeds the budget, even during the change.
 */

export interface AllocParams {
  /** Site budget, A per line (L1..L3). */
  limit: number;
  minCurrent: number;
  failsafe: number;
  margin: number;
  rampA: number;
  reactionMs: number;
  rotationMs: number;
  graceMs: number;
  forgetMs: number;
}

/** What the leader knows of one charger (from its heartbeat). */
export interface PeerDemand {
  id: string;
  /** Lines the charger's session uses: a bit mask (1 = L1, 2 = L2, 4 = L3). 3-phase: 7. */
  lines: number;
  /** A session wants current. */
  active: boolean;
  /** The most it could take, A per phase (its other claims). */
  want: number;
  /** Measured current, A (largest of its phases). */
  use: number;
  /** Silent or gone: reserve `failsafe` on `lines`. */
  departed: boolean;
  /** When it departed (for forgetMs). */
  departedAt: number;
}

/** The leader's memory of one charger (kept across allocations; rebuilt from `granted` after a leader change). */
export interface PeerState {
  granted: number;
  /** The value before a cut, still counted until `hiUntil`. */
  hi: number;
  hiUntil: number;
  /** When it was last admitted (grant went from 0 to > 0); -1 when not admitted. */
  admittedSince: number;
}

export interface AllocResult {
  /** id -> A (every live, non-departed peer has an entry). */
  grants: Map<string, number>;
  /** Rotation order for the next allocation (and the next leader). */
  queue: string[];
  /** Ids of active sessions that are paused (no minimum available). */
  paused: string[];
}

const LINES = [1, 2, 4];

function floor1(x: number): number {
  return Math.floor(x * 10 + 1e-9) / 10;
}

export function newPeerState(granted = 0): PeerState {
  return { granted, hi: granted, hiUntil: -1, admittedSince: granted > 0 ? 0 : -1 };
}

/** Checks the parameters (RangeError on a bad one). */
export function checkAllocParams(p: AllocParams): void {
  for (const k of ["limit", "minCurrent", "failsafe", "margin", "rampA", "reactionMs", "rotationMs", "graceMs", "forgetMs"] as const) {
    const v = p[k];
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new RangeError(`allocate: bad ${k}`);
  }
}

/**
 * One allocation round. `state` is updated in place (grants, cut memory, admission times); peers absent from
 * `peers` are dropped from it. Deterministic: the same inputs give the same grants.
 */
export function allocate(now: number, peers: readonly PeerDemand[], state: Map<string, PeerState>, queue: readonly string[], p: AllocParams): AllocResult {
  const byId = new Map<string, PeerDemand>();
  for (const d of peers) byId.set(d.id, d);
  for (const id of [...state.keys()]) if (!byId.has(id)) state.delete(id);
  for (const d of peers) if (!state.has(d.id)) state.set(d.id, newPeerState());

  // Budget per line after the reservations of departed peers.
  const budget = [p.limit, p.limit, p.limit];
  const reserve = (lines: number, amps: number, into: number[]) => {
    for (let l = 0; l < 3; l++) if (lines & LINES[l]!) into[l]! -= amps;
  };
  // A peer that just departed may still draw its last grant until its EV has followed the failsafe.
  for (const d of peers) {
    if (!d.departed || now - d.departedAt >= p.forgetMs) continue;
    const s = state.get(d.id)!;
    const recent = now - d.departedAt < p.reactionMs ? Math.max(s.granted, now < s.hiUntil ? s.hi : 0) : 0;
    reserve(d.lines || 7, Math.max(p.failsafe, recent), budget);
    // Past the reaction time it draws at most the failsafe: that is what it comes back with.
    if (recent === 0) {
      s.granted = p.failsafe;
      s.hi = p.failsafe;
      s.hiUntil = -1;
    }
  }

  // Rotation queue: the old order for known active peers, then newcomers by id.
  const active = peers.filter((d) => !d.departed && d.active && d.want >= p.minCurrent && d.lines !== 0);
  const activeIds = new Set(active.map((d) => d.id));
  const order: string[] = queue.filter((id, i) => activeIds.has(id) && queue.indexOf(id) === i);
  for (const d of [...active].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) if (!order.includes(d.id)) order.push(d.id);

  // Admission at minCurrent.
  const left = budget.slice();
  const admitted: PeerDemand[] = [];
  const paused: string[] = [];
  for (const id of order) {
    const d = byId.get(id)!;
    let fits = true;
    for (let l = 0; l < 3; l++) if (d.lines & LINES[l]! && left[l]! < p.minCurrent - 1e-9) fits = false;
    if (fits) {
      reserve(d.lines, p.minCurrent, left);
      admitted.push(d);
    } else paused.push(id);
  }

  // Demand with give-back and ramp.
  const demand = new Map<string, number>();
  for (const d of admitted) {
    const s = state.get(d.id)!;
    let want = d.want;
    if (s.granted >= p.minCurrent && s.admittedSince >= 0 && now - s.admittedSince >= p.graceMs) {
      // Hysteresis: given back to use + margin; grows again only when the EV draws within margin/2 of its grant.
      const cap = d.use < s.granted - p.margin / 2 ? d.use + p.margin : s.granted + p.rampA;
      want = Math.min(want, Math.max(p.minCurrent, cap));
    }
    demand.set(d.id, want);
  }

  // Water-filling from minCurrent.
  const target = new Map<string, number>();
  for (const d of admitted) target.set(d.id, p.minCurrent);
  let open = admitted.filter((d) => demand.get(d.id)! > p.minCurrent + 1e-9);
  for (let round = 0; round < admitted.length + 3 && open.length > 0; round++) {
    let step = Infinity;
    for (let l = 0; l < 3; l++) {
      let n = 0;
      for (const d of open) if (d.lines & LINES[l]!) n++;
      if (n > 0) step = Math.min(step, left[l]! / n);
    }
    for (const d of open) step = Math.min(step, demand.get(d.id)! - target.get(d.id)!);
    if (!(step > 1e-9)) break;
    for (const d of open) {
      target.set(d.id, target.get(d.id)! + step);
      reserve(d.lines, step, left);
    }
    open = open.filter((d) => {
      if (demand.get(d.id)! - target.get(d.id)! <= 1e-9) return false;
      for (let l = 0; l < 3; l++) if (d.lines & LINES[l]! && left[l]! <= 1e-9) return false;
      return true;
    });
  }

  // Commit: cuts now, raises within what is left with recent cuts still counted at their old value.
  const grants = new Map<string, number>();
  const committed = (s: PeerState): number => (now < s.hiUntil ? Math.max(s.granted, s.hi) : s.granted);
  for (const d of peers) {
    if (d.departed) continue;
    const s = state.get(d.id)!;
    const t = floor1(target.get(d.id) ?? 0);
    if (t < s.granted) {
      s.hi = committed(s);
      s.hiUntil = now + p.reactionMs;
      s.granted = t;
    }
  }
  const room = budget.slice();
  for (const d of peers) if (!d.departed) reserve(d.lines || 7, committed(state.get(d.id)!), room);
  for (const id of order) {
    const d = byId.get(id)!;
    const s = state.get(id)!;
    const t = floor1(target.get(id) ?? 0);
    if (t <= s.granted) continue;
    // The raise may use the room left on its lines; its own commitment is already counted there.
    const own = committed(s);
    let cap = t;
    for (let l = 0; l < 3; l++) if (d.lines & LINES[l]!) cap = Math.min(cap, own + room[l]!);
    let next = floor1(Math.max(s.granted, cap));
    if (next < p.minCurrent) next = s.granted; // cannot start below the minimum: wait
    if (next > s.granted) {
      reserve(d.lines, Math.max(0, next - own), room);
      s.granted = next;
    }
  }

  // Admission times and rotation.
  for (const d of peers) {
    if (d.departed) continue;
    const s = state.get(d.id)!;
    if (s.granted > 0 && s.admittedSince < 0) s.admittedSince = now;
    if (s.granted <= 0) s.admittedSince = -1;
    grants.set(d.id, s.granted);
  }
  const nextQueue = order.slice();
  if (paused.length > 0) {
    for (const d of admitted) {
      const s = state.get(d.id)!;
      if (s.admittedSince >= 0 && now - s.admittedSince >= p.rotationMs) {
        nextQueue.splice(nextQueue.indexOf(d.id), 1);
        nextQueue.push(d.id);
        // Its slot ends at the next round; the next admission counts from then.
        s.admittedSince = now;
        break; // one at a time: each rotation frees a slot for the longest-waiting paused session
      }
    }
  }
  return { grants, queue: nextQueue, paused };
}
