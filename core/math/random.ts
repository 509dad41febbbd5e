/**
 * Bot4's one seeded pseudo-random generator (sfc32, seeded through splitmix32) with the draws its users
 * need: uniforms, integers, standard normals (Marsaglia and Tsang's ziggurat with 128 layers, 32-bit
 * resolution) and Poisson counts. Pure: the same seed yields the same stream on every platform, which
 * makes Monte Carlo results, simulated markets, synthetic datasets and model initialisation reproducible.
 */
export interface Random {
  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Standard normal. */
  normal(): number;
  /** Fills `out` with standard normals. */
  fillNormal(out: Float64Array): Float64Array;
  /** Poisson-distributed count with mean `lambda` (Knuth's method; meant for small lambda). */
  poisson(lambda: number): number;
}

const TWO_POW_32 = 4294967296;

/** A 32-bit seed from a number (its high bits folded in) or a string (FNV-1a). */
function seedOf(seed: number | string): number {
  if (typeof seed === "number") {
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
    return (Math.floor(seed) ^ Math.floor(seed / TWO_POW_32)) >>> 0;
  }
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) {
    h ^= seed.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

// Ziggurat tables (Marsaglia & Tsang 2000), built once.
const KN = new Int32Array(128);
const WN = new Float64Array(128);
const FN = new Float64Array(128);
const ZIG_R = 3.442619855899;
{
  const m1 = 2147483648;
  const vn = 9.91256303526217e-3;
  let dn = ZIG_R;
  let tn = dn;
  const q = vn / Math.exp(-0.5 * dn * dn);
  KN[0] = Math.floor((dn / q) * m1);
  KN[1] = 0;
  WN[0] = q / m1;
  WN[127] = dn / m1;
  FN[0] = 1;
  FN[127] = Math.exp(-0.5 * dn * dn);
  for (let i = 126; i >= 1; i--) {
    dn = Math.sqrt(-2 * Math.log(vn / dn + Math.exp(-0.5 * dn * dn)));
    KN[i + 1] = Math.floor((dn / tn) * m1);
    tn = dn;
    FN[i] = Math.exp(-0.5 * dn * dn);
    WN[i] = dn / m1;
  }
}
const TWO_POW_53 = 9007199254740992;

/**
 * sfc32 (Chris Doty-Humphrey's small fast counting generator), seeded through splitmix32 and warmed up.
 * Its four words live in an Int32Array (no boxed numbers on the way), which {@link fillNormals} loads
 * into local variables for its loop.
 */
function sfc32(seed: number): { state: Int32Array; next32: () => number } {
  const init = splitmix32(seed);
  const s = Int32Array.of(init(), init(), init(), init());
  const next32 = (): number => {
    const a = s[0] as number;
    const b = s[1] as number;
    const c = s[2] as number;
    const d = s[3] as number;
    const t = (((a + b) | 0) + d) | 0;
    s[3] = d + 1;
    s[0] = b ^ (b >>> 9);
    s[1] = c + (c << 3);
    s[2] = ((c << 21) | (c >>> 11)) + t;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) next32();
  return { state: s, next32 };
}

/**
 * Fills `out` with standard normals: the same draws as calling `normal()` once per element, with the
 * generator and the ziggurat's fast path inlined in one loop (no call per draw); the rare slow path
 * (wedges and tail, under 3 draws in 100) goes through `next32` on the shared state.
 *
 * The loop runs in chunks of {@link CHUNK} draws, one call each: V8 then optimises the chunk function as
 * a whole, with type feedback for all of it. One long loop got compiled on the stack (OSR) in its first
 * call, before the code after it had run, and in some processes that code was thrown away at the loop's
 * exit on every later call, which left the draws at half speed.
 */
function fillNormals(
  g: { state: Int32Array; next32: () => number },
  out: Float64Array,
  uniform: () => number,
): Float64Array {
  for (let from = 0; from < out.length; from += CHUNK) {
    fillChunk(g.state, g.next32, uniform, out, from, Math.min(out.length, from + CHUNK));
  }
  return out;
}

const CHUNK = 256;

function fillChunk(
  s: Int32Array,
  next32: () => number,
  uniform: () => number,
  out: Float64Array,
  from: number,
  to: number,
): void {
  const kn = KN;
  const wn = WN;
  let a = s[0] as number;
  let b = s[1] as number;
  let c = s[2] as number;
  let d = s[3] as number;
  for (let i = from; i < to; i++) {
    const hz = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (((c << 21) | (c >>> 11)) + hz) | 0;
    const iz = hz & 127;
    if (Math.abs(hz) < (kn[iz] as number)) {
      out[i] = hz * (wn[iz] as number);
      continue;
    }
    s[0] = a;
    s[1] = b;
    s[2] = c;
    s[3] = d;
    out[i] = normalSlow(hz, next32, uniform);
    a = s[0] as number;
    b = s[1] as number;
    c = s[2] as number;
    d = s[3] as number;
  }
  s[0] = a;
  s[1] = b;
  s[2] = c;
  s[3] = d;
}

/** The ziggurat's base strip: a draw from the tail beyond ZIG_R, on the side of `hz`. */
function zigguratTail(hz: number, uniform: () => number): number {
  let t: number;
  let y: number;
  do {
    t = -Math.log(1 - uniform()) / ZIG_R;
    y = -Math.log(1 - uniform());
  } while (y + y < t * t);
  return hz > 0 ? ZIG_R + t : -ZIG_R - t;
}

/** The rare slow path of the ziggurat: the wedges and the tail. */
function normalSlow(first: number, next32: () => number, uniform: () => number): number {
  let hz = first;
  for (;;) {
    const iz = hz & 127;
    if (iz === 0) return zigguratTail(hz, uniform);
    const x = hz * (WN[iz] as number);
    const f = FN[iz] as number;
    if (f + uniform() * ((FN[iz - 1] as number) - f) < Math.exp(-0.5 * x * x)) return x;
    hz = next32() | 0;
    const jz = hz & 127;
    if (Math.abs(hz) < (KN[jz] as number)) return hz * (WN[jz] as number);
  }
}

/** Knuth's Poisson draw: multiply uniforms until the product falls below e^-lambda. */
function poissonDraw(lambda: number, uniform: () => number): number {
  if (lambda <= 0) return 0;
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = uniform();
  while (p > limit) {
    k++;
    p *= uniform();
  }
  return k;
}

export function createRandom(seed: number | string): Random {
  const g = sfc32(seedOf(seed));
  const next32 = g.next32;
  const uniform = (): number => ((next32() >>> 5) * 67108864 + (next32() >>> 6)) / TWO_POW_53;
  const normal = (): number => {
    const hz = next32() | 0;
    const iz = hz & 127;
    return Math.abs(hz) < (KN[iz] as number) ? hz * (WN[iz] as number) : normalSlow(hz, next32, uniform);
  };
  return {
    uniform,
    int: (n) => Math.floor(uniform() * n),
    normal,
    fillNormal: (out) => fillNormals(g, out, uniform),
    poisson: (lambda) => poissonDraw(lambda, uniform),
  };
}
