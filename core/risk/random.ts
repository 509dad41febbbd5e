/**
 * A seeded pseudo-random generator (sfc32, seeded through splitmix32) and normal sampling (Marsaglia and
 * Tsang's ziggurat with 128 layers, 32-bit resolution). Same seed, same stream, on every platform: Monte
 * Carlo results are reproducible.
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

const TWO_POW_32 = 4294967296;

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

export function createRandom(seed: number): Random {
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
  const init = splitmix32(Math.floor(seed) ^ Math.floor(seed / TWO_POW_32));
  let a = init();
  let b = init();
  let c = init();
  let d = init();
  const next32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) next32();
  const uniform = (): number => ((next32() >>> 5) * 67108864 + (next32() >>> 6)) / TWO_POW_53;
  /** The rare slow path of the ziggurat: the wedges and the tail. */
  const normalSlow = (first: number): number => {
    let hz = first;
    for (;;) {
      const iz = hz & 127;
      const x = hz * (WN[iz] as number);
      if (iz === 0) {
        let t: number;
        let y: number;
        do {
          t = -Math.log(1 - uniform()) / ZIG_R;
          y = -Math.log(1 - uniform());
        } while (y + y < t * t);
        return hz > 0 ? ZIG_R + t : -ZIG_R - t;
      }
      const f = FN[iz] as number;
      if (f + uniform() * ((FN[iz - 1] as number) - f) < Math.exp(-0.5 * x * x)) return x;
      hz = next32() | 0;
      const jz = hz & 127;
      if (Math.abs(hz) < (KN[jz] as number)) return hz * (WN[jz] as number);
    }
  };
  const normal = (): number => {
    const hz = next32() | 0;
    const iz = hz & 127;
    return Math.abs(hz) < (KN[iz] as number) ? hz * (WN[iz] as number) : normalSlow(hz);
  };
  return {
    uniform,
    int: (n) => Math.floor(uniform() * n),
    normal,
    fillNormal(out) {
      for (let i = 0; i < out.length; i++) out[i] = normal();
      return out;
    },
  };
}
