// AssemblyScript, compiled to WebAssembly (SIMD) by `npm run build` into dist/seqlens-kernels.wasm.
// The whole-vocabulary sums of a comparison, one row at a time so each row stays in the cache:
// onnxruntime's separate elementwise passes over [T, vocab] tensors were bound by memory traffic.
//   rows:   logits a, b [T, V] and targets [T] -> per row klAB, klBA, js, lossA, lossB (nats),
//           aboveA, aboveB (how many logits score above the target's)
//   headJs: attention rows p, q [R, N] -> per row of R the sum of JS over its N entries (nats)
// The JavaScript reference is engine/probes/compare.ts; tests hold these to it.
// exp and log are Cephes-style polynomials on four lanes (float32, about one ulp); the sums are
// kept in float64. JS is written as 0.5 * sum p log(2p / (p + q)) + q log(2q / (p + q)): every
// term is at least zero, and equal rows give exactly zero (x / x is exactly one, log(1) exactly
// zero). Probabilities below exp(-87.3) are zero.
//
// Speed notes (V8): a v128 constant is rebuilt at every use, so the constants live in globals set
// once by init() (one load each); pmin/pmax are single instructions where min/max are not; the
// exponent of 2^n comes from the "add 1.5 * 2^23" rounding trick rather than a saturating convert.

let ZERO: v128 = v128.splat<i32>(0);
let ONE: v128 = ZERO;
let HALF: v128 = ZERO;
let TWO: v128 = ZERO;
let NEG_INF: v128 = ZERO;
let TINY: v128 = ZERO;
let LANES: v128 = ZERO;
// exp
let EXP_HI: v128 = ZERO;
let EXP_LO: v128 = ZERO;
let LOG2E: v128 = ZERO;
let ROUND: v128 = ZERO;
let LN2_HI: v128 = ZERO;
let LN2_LO: v128 = ZERO;
let BIAS: v128 = ZERO;
let E0: v128 = ZERO;
let E1: v128 = ZERO;
let E2: v128 = ZERO;
let E3: v128 = ZERO;
let E4: v128 = ZERO;
let E5: v128 = ZERO;
// log
let EXP_SHIFT: v128 = ZERO;
let MANTISSA: v128 = ZERO;
let HALF_BITS: v128 = ZERO;
let SQRT_HALF: v128 = ZERO;
let L0: v128 = ZERO;
let L1: v128 = ZERO;
let L2: v128 = ZERO;
let L3: v128 = ZERO;
let L4: v128 = ZERO;
let L5: v128 = ZERO;
let L6: v128 = ZERO;
let L7: v128 = ZERO;
let L8: v128 = ZERO;

export function init(): void {
  ONE = f32x4.splat(1.0);
  HALF = f32x4.splat(0.5);
  TWO = f32x4.splat(2.0);
  NEG_INF = f32x4.splat(-Infinity);
  TINY = f32x4.splat(1e-30);
  LANES = i32x4(0, 1, 2, 3);
  EXP_HI = f32x4.splat(88.0);
  EXP_LO = f32x4.splat(-87.3); // 2^n stays a normal float (exp(-87.3) is about 1e-38)
  LOG2E = f32x4.splat(1.44269504088896341);
  ROUND = f32x4.splat(12582912.0); // 1.5 * 2^23: adding it rounds to an integer held in the low bits
  LN2_HI = f32x4.splat(0.693359375);
  LN2_LO = f32x4.splat(-2.12194440e-4);
  BIAS = i32x4.splat(127);
  E0 = f32x4.splat(1.9875691500e-4);
  E1 = f32x4.splat(1.3981999507e-3);
  E2 = f32x4.splat(8.3334519073e-3);
  E3 = f32x4.splat(4.1665795894e-2);
  E4 = f32x4.splat(1.6666665459e-1);
  E5 = f32x4.splat(5.0000001201e-1);
  EXP_SHIFT = i32x4.splat(126);
  MANTISSA = i32x4.splat(0x007fffff);
  HALF_BITS = i32x4.splat(0x3f000000);
  SQRT_HALF = f32x4.splat(0.707106781186547524);
  L0 = f32x4.splat(7.0376836292e-2);
  L1 = f32x4.splat(-1.1514610310e-1);
  L2 = f32x4.splat(1.1676998740e-1);
  L3 = f32x4.splat(-1.2420140846e-1);
  L4 = f32x4.splat(1.4249322787e-1);
  L5 = f32x4.splat(-1.6668057665e-1);
  L6 = f32x4.splat(2.0000714765e-1);
  L7 = f32x4.splat(-2.4999993993e-1);
  L8 = f32x4.splat(3.3333331174e-1);
}

// @ts-ignore: decorator
@inline function vexp(x: v128): v128 {
  const keep = f32x4.ge(x, EXP_LO); // below it (and -Infinity): zero
  x = f32x4.pmax(f32x4.pmin(x, EXP_HI), EXP_LO);
  const k = f32x4.add(f32x4.mul(x, LOG2E), ROUND); // round(x / ln 2) in its low bits
  const n = f32x4.sub(k, ROUND);
  let r = f32x4.sub(x, f32x4.mul(n, LN2_HI));
  r = f32x4.sub(r, f32x4.mul(n, LN2_LO));
  let y = f32x4.add(f32x4.mul(E0, r), E1);
  y = f32x4.add(f32x4.mul(y, r), E2);
  y = f32x4.add(f32x4.mul(y, r), E3);
  y = f32x4.add(f32x4.mul(y, r), E4);
  y = f32x4.add(f32x4.mul(y, r), E5);
  y = f32x4.add(f32x4.add(f32x4.mul(y, f32x4.mul(r, r)), r), ONE);
  // (bits of k + 127) << 23: the high bits of k's pattern shift out, n + 127 lands in the exponent
  return v128.and(f32x4.mul(y, i32x4.shl(i32x4.add(k, BIAS), 23)), keep);
}

// @ts-ignore: decorator
@inline function vlog(x: v128): v128 {
  // x > 0 and normal (callers clamp to 1e-30): x = m * 2^e with m in [sqrt(1/2), sqrt(2))
  let e = i32x4.sub(i32x4.shr_u(x, 23), EXP_SHIFT);
  const m = v128.or(v128.and(x, MANTISSA), HALF_BITS);
  const small = f32x4.lt(m, SQRT_HALF);
  e = i32x4.add(e, small); // the mask is -1 where m was below sqrt(1/2): then m doubles
  const t = f32x4.add(f32x4.sub(m, ONE), v128.and(m, small));
  const fe = f32x4.convert_i32x4_s(e);
  const z = f32x4.mul(t, t);
  let y = f32x4.add(f32x4.mul(L0, t), L1);
  y = f32x4.add(f32x4.mul(y, t), L2);
  y = f32x4.add(f32x4.mul(y, t), L3);
  y = f32x4.add(f32x4.mul(y, t), L4);
  y = f32x4.add(f32x4.mul(y, t), L5);
  y = f32x4.add(f32x4.mul(y, t), L6);
  y = f32x4.add(f32x4.mul(y, t), L7);
  y = f32x4.add(f32x4.mul(y, t), L8);
  y = f32x4.mul(f32x4.mul(y, t), z);
  y = f32x4.add(y, f32x4.mul(fe, LN2_LO));
  y = f32x4.sub(y, f32x4.mul(z, HALF));
  return f32x4.add(f32x4.add(t, y), f32x4.mul(fe, LN2_HI));
}

/** p log(2p / (p + q)) + q log(2q / (p + q)), elementwise; zero where p = q. */
// @ts-ignore: decorator
@inline function jsTerms(p: v128, q: v128): v128 {
  const s = f32x4.pmax(f32x4.add(p, q), TINY);
  const lp = vlog(f32x4.pmax(f32x4.div(f32x4.mul(p, TWO), s), TINY));
  const lq = vlog(f32x4.pmax(f32x4.div(f32x4.mul(q, TWO), s), TINY));
  return f32x4.add(f32x4.mul(p, lp), f32x4.mul(q, lq));
}

// @ts-ignore: decorator
@inline function hsum64(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

/** acc (two float64 lanes) plus the four float32 lanes of x. */
// @ts-ignore: decorator
@inline function add64(acc: v128, x: v128): v128 {
  return f64x2.add(acc, f64x2.add(f64x2.promote_low_f32x4(x), f64x2.promote_low_f32x4(i64x2.shuffle(x, x, 1, 0))));
}

// @ts-ignore: decorator
@inline function hmax(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

// @ts-ignore: decorator
@inline function hcount(v: v128): i32 {
  // lanes hold minus the count (masks are -1)
  return -(i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3));
}

/** Room for `bytes` bytes past the module's own data, 16-byte aligned; returns where it starts. */
export function reserve(bytes: usize): usize {
  const base = (__heap_base + 15) & ~(<usize>15);
  const need = base + bytes + 64; // slack: a row's last four lanes may be read past its end
  const have = (<usize>memory.size()) << 16;
  if (need > have && memory.grow(<i32>((need - have + 0xffff) >> 16)) < 0) unreachable(); // out of memory
  return base;
}

/** Scratch: 2 * ceil(V / 4) * 16 bytes. Out: 7 floats per row. */
export function rows(a: usize, b: usize, T: i32, V: i32, targets: usize, scratch: usize, out: usize): void {
  const full = V & ~3;
  const rem = V - full;
  const chunks = (V + 3) & ~3;
  const tailMask = i32x4.lt_s(LANES, i32x4.splat(rem));
  const eaBase = scratch;
  const ebBase = scratch + (<usize>chunks << 2);
  for (let t = 0; t < T; t++) {
    const ra = a + (<usize>t * <usize>V << 2);
    const rb = b + (<usize>t * <usize>V << 2);
    const target = load<i32>(targets + (<usize>t << 2));
    const xa = load<f32>(ra + (<usize>target << 2));
    const xb = load<f32>(rb + (<usize>target << 2));
    const vxa = f32x4.splat(xa);
    const vxb = f32x4.splat(xb);
    // pass 1: maxima and how many score above the target
    let ma = NEG_INF;
    let mb = NEG_INF;
    let ca = ZERO;
    let cb = ZERO;
    let j = 0;
    for (; j < full; j += 4) {
      const va = v128.load(ra + (<usize>j << 2));
      const vb = v128.load(rb + (<usize>j << 2));
      ma = f32x4.pmax(ma, va);
      mb = f32x4.pmax(mb, vb);
      ca = i32x4.add(ca, f32x4.gt(va, vxa));
      cb = i32x4.add(cb, f32x4.gt(vb, vxb));
    }
    if (rem) {
      const va = v128.bitselect(v128.load(ra + (<usize>j << 2)), NEG_INF, tailMask);
      const vb = v128.bitselect(v128.load(rb + (<usize>j << 2)), NEG_INF, tailMask);
      ma = f32x4.pmax(ma, va);
      mb = f32x4.pmax(mb, vb);
      ca = i32x4.add(ca, f32x4.gt(va, vxa));
      cb = i32x4.add(cb, f32x4.gt(vb, vxb));
    }
    const maxA = hmax(ma);
    const maxB = hmax(mb);
    // pass 2: exponentials (kept in scratch) and their sums, the sums in float64
    const vma = f32x4.splat(maxA);
    const vmb = f32x4.splat(maxB);
    let sa = ZERO;
    let sb = ZERO;
    for (j = 0; j < chunks; j += 4) {
      let ea = vexp(f32x4.sub(v128.load(ra + (<usize>j << 2)), vma));
      let eb = vexp(f32x4.sub(v128.load(rb + (<usize>j << 2)), vmb));
      if (j >= full) {
        ea = v128.and(ea, tailMask);
        eb = v128.and(eb, tailMask);
      }
      v128.store(eaBase + (<usize>j << 2), ea);
      v128.store(ebBase + (<usize>j << 2), eb);
      sa = add64(sa, ea);
      sb = add64(sb, eb);
    }
    const sumA = hsum64(sa);
    const sumB = hsum64(sb);
    const lseA = <f64>maxA + Math.log(sumA);
    const lseB = <f64>maxB + Math.log(sumB);
    // pass 3: KL both ways from the log-probabilities, d = la - lb = (a - b) - (lseA - lseB),
    // and JS from the probabilities (entries with no probability add nothing)
    const vshift = f32x4.splat(<f32>(lseA - lseB));
    const ia = f32x4.splat(<f32>(1.0 / sumA));
    const ib = f32x4.splat(<f32>(1.0 / sumB));
    let kab = ZERO;
    let kba = ZERO;
    let js = ZERO;
    for (j = 0; j < chunks; j += 4) {
      const d = f32x4.sub(f32x4.sub(v128.load(ra + (<usize>j << 2)), v128.load(rb + (<usize>j << 2))), vshift);
      const pa = f32x4.mul(v128.load(eaBase + (<usize>j << 2)), ia);
      const pb = f32x4.mul(v128.load(ebBase + (<usize>j << 2)), ib);
      let ab = v128.and(f32x4.mul(pa, d), f32x4.ne(pa, ZERO));
      let ba = v128.and(f32x4.mul(pb, d), f32x4.ne(pb, ZERO));
      let jt = jsTerms(pa, pb);
      if (j >= full) {
        ab = v128.and(ab, tailMask);
        ba = v128.and(ba, tailMask);
        jt = v128.and(jt, tailMask);
      }
      kab = add64(kab, ab);
      kba = add64(kba, ba);
      js = add64(js, jt);
    }
    const o = out + (<usize>t * 28);
    // as the reference: a divergence is never below zero (float round-off can take a sum there)
    store<f32>(o, <f32>max(0.0, hsum64(kab)));
    store<f32>(o, <f32>max(0.0, -hsum64(kba)), 4);
    store<f32>(o, <f32>max(0.0, 0.5 * hsum64(js)), 8);
    store<f32>(o, <f32>(lseA - <f64>xa), 12);
    store<f32>(o, <f32>(lseB - <f64>xb), 16);
    store<f32>(o, <f32>hcount(ca), 20);
    store<f32>(o, <f32>hcount(cb), 24);
  }
}

/** For each of R rows of N probabilities, the JS divergence of p against q (nats). */
export function headJs(p: usize, q: usize, R: i32, N: i32, out: usize): void {
  const full = N & ~3;
  const tailMask = i32x4.lt_s(LANES, i32x4.splat(N - full));
  for (let r = 0; r < R; r++) {
    const rp = p + (<usize>r * <usize>N << 2);
    const rq = q + (<usize>r * <usize>N << 2);
    let acc = ZERO;
    let j = 0;
    for (; j < full; j += 4) acc = add64(acc, jsTerms(v128.load(rp + (<usize>j << 2)), v128.load(rq + (<usize>j << 2))));
    if (j < N) acc = add64(acc, v128.and(jsTerms(v128.load(rp + (<usize>j << 2)), v128.load(rq + (<usize>j << 2))), tailMask));
    store<f32>(out + (<usize>r << 2), <f32>(0.5 * hsum64(acc)));
  }
}

/** log(sum(exp(a[j]))) over one row of V logits (a generated token's probability is exp(a[id] - lse)). */
export function lse(a: usize, V: i32): f64 {
  const full = V & ~3;
  const rem = V - full;
  const tailMask = i32x4.lt_s(LANES, i32x4.splat(rem));
  let m = NEG_INF;
  let j = 0;
  for (; j < full; j += 4) m = f32x4.pmax(m, v128.load(a + (<usize>j << 2)));
  if (rem) m = f32x4.pmax(m, v128.bitselect(v128.load(a + (<usize>j << 2)), NEG_INF, tailMask));
  const max = hmax(m);
  if (max == -Infinity) return -Infinity;
  const vm = f32x4.splat(max);
  let s = ZERO;
  for (j = 0; j < full; j += 4) s = add64(s, vexp(f32x4.sub(v128.load(a + (<usize>j << 2)), vm)));
  if (rem) s = add64(s, v128.and(vexp(f32x4.sub(v128.load(a + (<usize>j << 2)), vm)), tailMask));
  return <f64>max + Math.log(hsum64(s));
}
