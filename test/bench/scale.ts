// The bench size knob, apart from run.ts (the entry point) so that benches can import it.
/**
 * A bench's size scaled by `BENCH_SCALE` (default 1, the measured size): `BENCH_SCALE=0.05 npm run bench` is a
 * quick proof that every bench runs; the figures are only comparable at the full size.
 */
export function scaled(n: number): number {
  const scale = Number(process.env.BENCH_SCALE ?? '1');
  if (!Number.isFinite(scale) || scale <= 0 || scale > 1) throw new Error('BENCH_SCALE must be in (0, 1]');
  return Math.max(1, Math.round(n * scale));
}
