import test from "ava";
import { allocate, type AllocParams, type PeerDemand, type PeerState } from "../../firmware/loadbalancing/allocate.js";

const P: AllocParams = { limit: 32, minCurrent: 6, failsafe: 6, margin: 1, rampA: 2, reactionMs: 6_000, rotationMs: 60_000, graceMs: 6_000, forgetMs: 3_600_000 };

function peer(id: string, over: Partial<PeerDemand> = {}): PeerDemand {
  return { id, lines: 7, active: true, want: 32, use: 0, departed: false, departedAt: 0, ...over };
}

/**
 * Runs `rounds` allocations `stepMs` apart; each EV draws what it was granted, up to its `draw` (default: all),
 * as the next heartbeat reports it.
 */
function settle(peers: PeerDemand[], p = P, rounds = 20, stepMs = 10_000, state = new Map<string, PeerState>(), start = 0, draw: Record<string, number> = {}) {
  let queue: string[] = [];
  let r = allocate(start, peers, state, queue, p);
  for (let i = 1; i < rounds; i++) {
    queue = r.queue;
    for (const d of peers) d.use = Math.min(r.grants.get(d.id) ?? 0, draw[d.id] ?? Infinity);
    r = allocate(start + i * stepMs, peers, state, queue, p);
  }
  return { r, state };
}

function lineSums(peers: PeerDemand[], grants: Map<string, number>): number[] {
  const s = [0, 0, 0];
  for (const d of peers) for (let l = 0; l < 3; l++) if (d.lines & (1 << l)) s[l]! += grants.get(d.id) ?? 0;
  return s;
}

test("fair share: equal split of the budget, per line", (t) => {
  const peers = [peer("a"), peer("b"), peer("c")];
  const { r } = settle(peers);
  t.deepEqual([...r.grants.values()], [10.6, 10.6, 10.6]);
  t.true(lineSums(peers, r.grants).every((x) => x <= 32));
});

test("phases: a one-phase car uses its line only; the three-phase ones are bound by that line", (t) => {
  const peers = [peer("a"), peer("b", { lines: 1 }), peer("c", { lines: 2 })];
  const { r } = settle(peers);
  // L1: a + b <= 32, L2: a + c <= 32 -> 16 each; L3 carries only a.
  t.is(r.grants.get("a"), 16);
  t.is(r.grants.get("b"), 16);
  t.is(r.grants.get("c"), 16);
  t.true(lineSums(peers, r.grants).every((x) => x <= 32));
});

test("minimum 6 A: sessions that cannot get it pause, and take turns after rotationMs", (t) => {
  const peers = ["a", "b", "c", "d", "e", "f"].map((id) => peer(id));
  const state = new Map<string, PeerState>();
  let queue: string[] = [];
  const pausedAt: string[][] = [];
  for (let now = 0; now <= 800_000; now += 2_000) {
    const r = allocate(now, peers, state, queue, P);
    for (const d of peers) d.use = r.grants.get(d.id) ?? 0;
    queue = r.queue;
    t.true(lineSums(peers, r.grants).every((x) => x <= 32 + 1e-9), `budget at ${now}`);
    const running = [...r.grants.values()].filter((g) => g > 0);
    t.true(running.every((g) => g >= 6), `no grant below the minimum at ${now}`);
    pausedAt.push(r.paused.slice());
  }
  t.deepEqual(pausedAt[0], ["f"]);
  // Everyone pauses at some point: rotation, not starvation.
  const everPaused = new Set(pausedAt.flat());
  t.is(everPaused.size, 6, `paused over time: ${[...everPaused].join(",")}`);
});

test("give-back: an EV drawing less than its share gives it to the others, with a margin", (t) => {
  const peers = [peer("a"), peer("b")];
  const { r, state } = settle(peers);
  t.is(r.grants.get("a"), 16);
  // b's car draws only 8 A: after the grace period its demand is 9 A, a gets the rest.
  const s2 = settle(peers, P, 20, 10_000, state, 300_000, { b: 8 });
  t.is(s2.r.grants.get("b"), 9);
  t.is(s2.r.grants.get("a"), 23);
});

test("a raise never counts on a cut younger than the reaction time", (t) => {
  const state = new Map<string, PeerState>();
  const one = [peer("a")];
  let r = allocate(0, one, state, [], P);
  for (let now = 10_000; now <= 100_000; now += 10_000) {
    one[0]!.use = r.grants.get("a")!;
    r = allocate(now, one, state, r.queue, P);
  }
  t.is(r.grants.get("a"), 32);
  // b arrives: a is cut to 16 at once, b may only start when a's cut is reactionMs old.
  const two = [peer("a", { use: 32 }), peer("b")];
  r = allocate(120_000, two, state, r.queue, P);
  t.is(r.grants.get("a"), 16);
  t.is(r.grants.get("b"), 0);
  r = allocate(122_000, two, state, r.queue, P);
  t.is(r.grants.get("b"), 0);
  r = allocate(126_000, two, state, r.queue, P);
  t.is(r.grants.get("b"), 16);
});

test("departed peers keep a failsafe reservation until forgotten", (t) => {
  const peers = [peer("a"), peer("b"), peer("x", { departed: true, departedAt: 0 })];
  const { r } = settle(peers);
  t.is(r.grants.get("a"), 13);
  t.false(r.grants.has("x"));
  const later = settle(peers.map((d) => (d.id === "x" ? { ...d, departedAt: -P.forgetMs } : d)));
  t.is(later.r.grants.get("a"), 16);
});

test("randomized: what the EVs may still draw never exceeds any line's budget (seeded)", (t) => {
  for (const seed0 of [12345, 777, 4242]) {
    let seed = seed0;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const state = new Map<string, PeerState>();
    let queue: string[] = [];
    const peers: PeerDemand[] = ["a", "b", "c", "d", "e"].map((id) => peer(id, { lines: [7, 1, 2, 4][Math.floor(rnd() * 4)]! }));
    const history: Array<{ t: number; g: Map<string, number> }> = [];
    let bad = "";
    for (let now = 0; now < 600_000 && !bad; now += 1_000) {
      for (const d of peers) {
        if (!d.departed && rnd() < 0.01) {
          d.departed = true;
          d.departedAt = now;
        } else if (d.departed && rnd() < 0.02) d.departed = false;
        if (rnd() < 0.05) d.active = !d.active;
        if (rnd() < 0.05) d.want = 6 + Math.floor(rnd() * 27);
        d.use = Math.min(state.get(d.id)?.granted ?? 0, Math.floor(rnd() * 33));
      }
      const r = allocate(now, peers, state, queue, P);
      queue = r.queue;
      history.push({ t: now, g: r.grants });
      for (let l = 0; l < 3; l++) {
        let sum = 0;
        for (const d of peers) {
          if (!(d.lines & (1 << l))) continue;
          let m = 0;
          // An EV follows a lower pilot within the reaction time; a departed charger drops to min(grant,
          // failsafe) at once and may rise to the failsafe one silence timeout later (>= the reaction time).
          for (const h of history) if (h.t > now - P.reactionMs) m = Math.max(m, h.g.get(d.id) ?? 0);
          if (d.departed && now - d.departedAt >= P.reactionMs) m = Math.max(m, P.failsafe);
          sum += m;
        }
        if (sum > 32 + 1e-6) bad = `seed ${seed0}: line ${l + 1} may draw ${sum} A at ${now} ms`;
      }
    }
    t.is(bad, "", bad);
  }
});
