// Top-k results as labelled bars, and the timing line under them.
import { formatMs, formatPercent } from './format.js';

/** Fills the list element ol with one bar per class of top. */
export function renderBars(ol, top) {
  ol.replaceChildren(...top.map((c, i) => {
    const li = document.createElement('li');
    li.className = i === 0 ? 'bar top' : 'bar';
    const label = document.createElement('span');
    label.className = 'bar-label';
    label.textContent = c.label;
    const track = document.createElement('span');
    track.className = 'bar-track';
    const fill = document.createElement('span');
    fill.className = 'bar-fill';
    fill.style.width = `${Math.max(c.prob * 100, 0.5)}%`;
    track.append(fill);
    const pct = document.createElement('span');
    pct.className = 'bar-pct';
    pct.textContent = formatPercent(c.prob);
    li.append(label, track, pct);
    li.setAttribute('aria-label', `${c.label}: ${formatPercent(c.prob)}`);
    return li;
  }));
}

/** "Go WASM SIMD128 · preprocess 0.31 ms · inference 4.2 ms · total 9.8 ms" */
export function timingText(r) {
  const t = r.timings;
  const parts = [r.backend];
  if (t.decode >= 0.01) parts.push(`decode ${formatMs(t.decode)}`);
  parts.push(`preprocess ${formatMs(t.preprocess)}`, `inference ${formatMs(t.inference)}`, `total ${formatMs(t.total)}`);
  return parts.join(' · ');
}
