/** Robustness: 100,000 mutated / random inputs (fixed seed) decode or fail with ExiError; resource limits hold. */
import test from "ava";
import { DEFAULT_LIMITS, decodeExi, ExiDecoder, ExiError } from "../../firmware/iso15118/exi/index.js";
import { grammar as din } from "../../firmware/iso15118/exi/grammars/din.js";
import { grammar as iso2 } from "../../firmware/iso15118/exi/grammars/iso2.js";
import { fuzzExi } from "../../tools/exi-fuzz.js";

test("fuzz: 100,000 inputs, no crash (seed 7)", (t) => {
  const r = fuzzExi(100_000, 7);
  t.is(r.inputs, 100_000);
  t.is(r.crashes, 0, `seed 7: ${r.firstCrash ?? ""}`);
  t.true(r.rejected > 50_000);
  t.log(JSON.stringify(r));
});

test("limits: input size, string length, binary length, depth, nodes", (t) => {
  t.throws(() => decodeExi("din", new Uint8Array(DEFAULT_LIMITS.maxInputBytes + 1)), { instanceOf: ExiError, message: /exceeds/ });
  // SessionSetupReq with an EVCCID claiming 2^28 bytes
  const big = Uint8Array.of(0x80, 0x9a, 0x00, 0x40, 0x11, 0xd0, 0x1f, 0xff, 0xff, 0xff, 0x00, 0x00);
  t.throws(() => decodeExi("din", big), { instanceOf: ExiError });
  const small = new ExiDecoder({ ...DEFAULT_LIMITS, maxBinaryLength: 4 });
  t.throws(() => small.decode(din, Uint8Array.from(Buffer.from("809a004011d018038131a0007400", "hex"))), { instanceOf: ExiError, message: /exceeds 4/ });
  const shallow = new ExiDecoder({ ...DEFAULT_LIMITS, maxDepth: 2 });
  t.throws(() => shallow.decode(iso2, Uint8Array.from(Buffer.from("809802022669991e4a686c11c0012004820124", "hex"))), { instanceOf: ExiError, message: /deeper/ });
  const few = new ExiDecoder({ ...DEFAULT_LIMITS, maxNodes: 3 });
  t.throws(() => few.decode(iso2, Uint8Array.from(Buffer.from("809802022669991e4a686c11c0012004820124", "hex"))), { instanceOf: ExiError, message: /values/ });
  t.throws(() => decodeExi("din", new Uint8Array(0)), { instanceOf: ExiError, message: /too short/ });
  t.throws(() => decodeExi("din", Uint8Array.of(0x81, 0x9a)), { instanceOf: ExiError, message: /header/ });
});
