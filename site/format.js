// Number formatting for the page.

/** 22.4 MB, 410 B, ... */
export function formatBytes(n) {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB'];
  let i = -1;
  do { n /= 1000; i++; } while (n >= 1000 && i < units.length - 1);
  return `${n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
}

/** A weights file's dtype as the page names it: f32, f16, int8. */
export function formatDType(dtype) {
  return dtype === 'I8' ? 'int8' : dtype.toLowerCase();
}

/** 0.42 ms, 4.1 ms, 37 ms, 1.2 s */
export function formatMs(ms) {
  if (ms >= 1000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 10) return `${Math.round(ms)} ms`;
  return `${ms.toFixed(ms < 1 ? 2 : 1)} ms`;
}

/** 97.3% */
export function formatPercent(p) {
  const pct = p * 100;
  return `${pct >= 10 || pct === 0 ? pct.toFixed(1) : pct.toFixed(2)}%`;
}
