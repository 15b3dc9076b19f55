import test from "ava";
import { thermalLimit, validateThermalCurve } from "../../firmware/control/thermal.js";

const curve: Array<[number, number]> = [[60, 80], [70, 32], [80, 16], [85, 6]];

test("thermal derating: flat before the first point, linear between, last value after", (t) => {
  t.is(thermalLimit(-40, curve), 80);
  t.is(thermalLimit(60, curve), 80);
  t.is(thermalLimit(65, curve), 56);
  t.is(thermalLimit(70, curve), 32);
  t.is(thermalLimit(75, curve), 24);
  t.is(thermalLimit(82.5, curve), 11);
  t.is(thermalLimit(85, curve), 6);
  t.is(thermalLimit(120, curve), 6);
  t.is(thermalLimit(120, [[60, 32], [90, 0]]), 0);
});

test("thermal derating is monotonic non-increasing for a descending curve", (t) => {
  let prev = Infinity;
  for (let c = -40; c <= 150; c += 0.25) {
    const a = thermalLimit(c, curve);
    if (a > prev) t.fail(`at ${c}`);
    prev = a;
  }
  t.pass();
});

test("thermal derating fails safe", (t) => {
  t.is(thermalLimit(NaN, curve), 0);
  t.is(thermalLimit(Infinity, curve), 0);
  t.is(thermalLimit(50, []), 0);
});

test("thermal curve validation", (t) => {
  t.is(validateThermalCurve(curve), "");
  t.not(validateThermalCurve([]), "");
  t.not(validateThermalCurve([[60, 80], [60, 30]]), "");
  t.not(validateThermalCurve([[70, 80], [60, 30]]), "");
  t.not(validateThermalCurve([[60, -1]]), "");
  t.not(validateThermalCurve([[60, NaN]]), "");
  t.not(validateThermalCurve([[60]]), "");
  t.not(validateThermalCurve("x"), "");
});
