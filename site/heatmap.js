// Class activation maps on the page (docs/cam.md): which models have maps
// worth showing, a map coloured as engine/cam colours it, and where the
// network's crop lies over the picture.
import { VIRIDIS } from './viridis.js';

/**
 * The side of a ResNet's last feature map for crop x crop inputs: the
 * stem's conv and max-pool and layers 2 to 4 each halve it, rounding up
 * (7 at 224, 1 at the bundled models' 32).
 */
export function featureMapSide(crop) {
  let side = crop;
  for (let i = 0; i < 5; i++) side = Math.ceil(side / 2);
  return side;
}

/** Maps smaller than this many positions a side cannot show where the evidence is. */
export const MIN_MAP_SIDE = 4;

/** The smallest input whose map is MIN_MAP_SIDE a side. */
export const MIN_CAM_INPUT = 32 * (MIN_MAP_SIDE - 1) + 1;

/** Whether a model entry's maps are worth showing. */
export const showsHeatmaps = (model) => featureMapSide(model.crop) >= MIN_MAP_SIDE;

/**
 * Where output pixel i samples an axis resized from n to out values, as
 * engine/cam.Resize (PyTorch's bilinear, align_corners=False): between
 * i0[i] and i1[i], a fraction f[i] of the way.
 */
function taps(out, n) {
  const t = { i0: new Int32Array(out), i1: new Int32Array(out), f: new Float64Array(out) };
  for (let i = 0; i < out; i++) {
    const src = Math.max(0, ((i + 0.5) * n) / out - 0.5);
    t.i0[i] = Math.min(Math.trunc(src), n - 1);
    t.i1[i] = Math.min(t.i0[i] + 1, n - 1);
    t.f[i] = src - t.i0[i];
  }
  return t;
}

// VIRIDIS as opaque RGBA pixels, for one store per pixel (little-endian:
// R is the low byte, as every browser's typed arrays on its platforms).
const COLORS = new Uint32Array(256).map((_, i) => (255 << 24 | VIRIDIS[3 * i + 2] << 16 | VIRIDIS[3 * i + 1] << 8 | VIRIDIS[3 * i]) >>> 0);

// The ImageData each canvas is drawn through, reused from frame to frame.
const scratch = new WeakMap();

/**
 * Draws cam (resnet.js's ClassActivationMap) on canvas, filling it: the
 * map scaled to [0, 1] by its minimum and maximum, resized bilinearly to
 * the canvas and coloured with viridis, opaque. The same steps and
 * float32 roundings as engine/cam's Normalized, Resize and Color, so the
 * page shows the colours `resnet classify -cam` blends.
 */
export function drawHeatmap(canvas, cam) {
  const { width, height } = canvas;
  let lo = Infinity, hi = -Infinity;
  for (const v of cam.values) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const norm = new Float32Array(cam.values.length); // a constant map stays 0
  if (hi > lo) {
    const scale = 1 / (hi - lo);
    cam.values.forEach((v, i) => { norm[i] = (v - lo) * scale; });
  }
  // Each row of the map resized across first (float64, as Resize's sums).
  const xs = taps(width, cam.width), ys = taps(height, cam.height);
  const across = new Float64Array(cam.height * width);
  for (let r = 0; r < cam.height; r++) {
    for (let x = 0; x < width; x++) {
      across[r * width + x] = (1 - xs.f[x]) * norm[r * cam.width + xs.i0[x]] + xs.f[x] * norm[r * cam.width + xs.i1[x]];
    }
  }
  let image = scratch.get(canvas);
  if (image?.width !== width || image.height !== height) scratch.set(canvas, (image = new ImageData(width, height)));
  const px = new Uint32Array(image.data.buffer);
  for (let y = 0, o = 0; y < height; y++) {
    const top = ys.i0[y] * width, bottom = ys.i1[y] * width, fy = ys.f[y];
    for (let x = 0; x < width; x++, o++) {
      const level = Math.fround((1 - fy) * across[top + x] + fy * across[bottom + x]);
      px[o] = COLORS[Math.round(Math.max(0, Math.min(1, level)) * 255)];
    }
  }
  canvas.getContext('2d').putImageData(image, 0, 0);
}

/**
 * Places el (absolutely positioned) over the crop the network saw, in
 * percent of a box of aspect ratio boxWidth:boxHeight that shows the
 * whole picture fitted as CSS object-fit does ('contain' or 'cover'), so
 * that it stays in place however large the box is drawn.
 */
export function placeOverCrop(el, cam, { boxWidth = 1, boxHeight = 1, fit = 'contain' } = {}) {
  const { width: w, height: h } = cam.input;
  const scale = (fit === 'cover' ? Math.max : Math.min)(boxWidth / w, boxHeight / h);
  const left = (boxWidth - w * scale) / 2 + cam.crop.x * scale;
  const top = (boxHeight - h * scale) / 2 + cam.crop.y * scale;
  const pct = (v, of) => `${(100 * v) / of}%`;
  el.style.left = pct(left, boxWidth);
  el.style.top = pct(top, boxHeight);
  el.style.width = pct(cam.crop.width * scale, boxWidth);
  el.style.height = pct(cam.crop.height * scale, boxHeight);
}
