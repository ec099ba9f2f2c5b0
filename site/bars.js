// Top-k results as labelled bars, and the timing line under them.
import { formatMs, formatPercent } from './format.js';

/**
 * Fills the list element ol with one bar per class of top. With pick
 * ({name, checked, onPick(i)}), each bar starts with a radio button of
 * group name, the checked-th one checked, and picking bar i (the radio or
 * its label, by mouse or keyboard) calls onPick(i).
 */
export function renderBars(ol, top, pick) {
  ol.replaceChildren(...top.map((c, i) => {
    const li = document.createElement('li');
    li.className = i === 0 ? 'bar top' : 'bar';
    const label = document.createElement(pick ? 'label' : 'span');
    label.className = 'bar-label';
    label.textContent = c.label;
    if (pick) {
      const radio = Object.assign(document.createElement('input'), {
        type: 'radio', name: pick.name, id: `${pick.name}-${i}`, value: String(c.index), checked: i === pick.checked, className: 'bar-pick',
      });
      radio.setAttribute('aria-label', `Heatmap of ${c.label}`);
      radio.addEventListener('change', () => pick.onPick(i));
      label.htmlFor = radio.id;
      li.classList.add('pickable');
      li.append(radio);
    }
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
