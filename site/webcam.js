// Webcam mode: classifies the camera's frames as fast as the classifier
// keeps up; frames that arrive while it is busy are skipped and counted.
// On WebGPU two frames may be in flight: the next frame is read, prepared
// and submitted while the GPU finishes the previous one and its result is
// read back (framesInFlight); each result is shown only if no later
// frame's was shown already.
//
// The camera is off, starting (getUserMedia or play() pending) or on. Every
// start and stop begins a new generation; a start, its frame loop and its
// classifications act only while their generation is the current one, so a
// start overtaken by a stop (the button again, or leaving the tab) stops
// the stream it gets, and a stop ends the frame loop at once. There is at
// most one frame loop, and the video element's data-frame-loops attribute
// counts the live ones (the tests read it).
import { renderBars } from './bars.js';
import { formatMs } from './format.js';
import { drawHeatmap, MIN_CAM_INPUT, placeOverCrop, showsHeatmaps } from './heatmap.js';
import { superseded } from './resnet.js';

const $ = (id) => document.getElementById(id);

// Frames per second are counted over this window.
const FPS_WINDOW_MS = 2000;

// How many frames clf may classify at once. The WebGPU backend overlaps a
// frame's submit with the previous frame's readback; the CPU engine runs
// one image at a time, so a second frame would only wait and be older
// when shown.
const framesInFlight = (clf) => (clf.backend.startsWith('WebGPU') ? 2 : 1);

// What the toggle says in each state. It stays enabled while the camera
// starts, as a way to cancel the start, so that it keeps the focus.
const TOGGLE_TEXT = { off: 'Start camera', starting: 'Cancel', on: 'Stop camera' };
const PLACEHOLDER_TEXT = { off: 'The camera is off.', starting: 'Starting the camera…' };

const stopTracks = (stream) => {
  for (const track of stream?.getTracks() ?? []) track.stop();
};

export function setupWebcam(session) {
  const video = $('webcam-video');
  const toggle = $('webcam-toggle');
  const errorText = $('webcam-error');
  const placeholder = $('webcam-placeholder');
  let state = 'off';
  let generation = 0; // the current start or stop
  let stream = null; // the current generation's stream, once it has one
  let frameRequest = 0; // the frame loop's pending requestVideoFrameCallback, 0 when no loop runs
  let loops = 0; // live frame loops, for data-frame-loops
  let inFlight = 0; // frames being classified
  let sent = 0; // frames sent to the classifier, which numbers them
  let shown = 0; // the number of the frame whose result is shown
  let skipped = 0;
  let done = []; // completion times of recent classifications
  const heatmap = setupHeatmap(session);

  const showError = (message) => {
    errorText.textContent = message;
    errorText.hidden = !message;
  };

  const setLoops = (delta) => {
    loops += delta;
    video.dataset.frameLoops = String(loops);
  };

  const setState = (next) => {
    state = next;
    toggle.textContent = TOGGLE_TEXT[next];
    toggle.classList.toggle('secondary', next !== 'off');
    toggle.setAttribute('aria-pressed', String(next !== 'off'));
    placeholder.hidden = next === 'on';
    placeholder.textContent = PLACEHOLDER_TEXT[next] ?? '';
    video.closest('.video-frame').classList.toggle('live', next === 'on');
  };

  async function start() {
    const gen = ++generation;
    const current = () => gen === generation;
    showError('');
    if (!navigator.mediaDevices?.getUserMedia) {
      showError('This browser offers no camera access here. Camera access needs a secure page (https or localhost).');
      return;
    }
    setState('starting');
    let got = null;
    try {
      got = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'user', width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
      if (!current()) {
        stopTracks(got);
        return;
      }
      stream = got;
      video.srcObject = got;
      await video.play();
    } catch (e) {
      if (!current()) {
        stopTracks(got); // overtaken (play() fails once stop() takes the stream away)
        return;
      }
      stop();
      showError(cameraErrorMessage(e));
      return;
    }
    if (!current()) return; // stop() stopped the stream
    skipped = 0;
    done = [];
    $('webcam-skipped').textContent = '0';
    setState('on');
    setLoops(+1);
    frameRequest = video.requestVideoFrameCallback(() => onFrame(gen));
  }

  function stop() {
    generation++;
    if (frameRequest) {
      video.cancelVideoFrameCallback(frameRequest);
      frameRequest = 0;
      setLoops(-1);
    }
    stopTracks(stream);
    stream = null;
    video.srcObject = null;
    heatmap.draw(undefined);
    setState('off');
    $('webcam-fps').textContent = '–';
  }

  function onFrame(gen) {
    frameRequest = 0;
    frameRequest = video.requestVideoFrameCallback(() => onFrame(gen));
    const clf = session.current();
    if (!clf || inFlight >= framesInFlight(clf)) {
      skipped++;
      $('webcam-skipped').textContent = String(skipped);
      return;
    }
    inFlight++;
    const frame = ++sent;
    clf.classify(video, { cam: heatmap.wanted(clf) }).then((r) => {
      if (gen !== generation || frame < shown) return;
      shown = frame;
      renderBars($('webcam-bars'), r.top);
      heatmap.draw(r.cam, clf.model.crop);
      $('webcam-inference').textContent = formatMs(r.timings.inference);
      const now = performance.now();
      done.push(now);
      done = done.filter((t) => now - t <= FPS_WINDOW_MS);
      if (done.length > 1) $('webcam-fps').textContent = ((done.length - 1) * 1000 / (now - done[0])).toFixed(1);
      showError('');
    }, (e) => {
      // A frame that met a model change is just a skipped frame.
      if (gen === generation && !superseded(e)) showError(e.message);
    }).finally(() => { inFlight--; });
  }

  toggle.addEventListener('click', () => (state === 'off' ? start() : stop()));
  setLoops(0);
  return { stop };
}

/**
 * The live heatmap: a toggle (absent, with a note, for models whose maps
 * are too coarse) and the top class's map of the latest frame over the
 * video, on the square the network saw. The video is mirrored and fills
 * its 4:3 frame (object-fit: cover), and the map's layer is mirrored too.
 */
function setupHeatmap(session) {
  const toggle = $('webcam-heatmap');
  const note = $('webcam-heatmap-note');
  const crop = $('webcam-cam-crop');
  const canvas = $('webcam-cam-canvas');
  let on = false;
  const update = (clf) => {
    const can = Boolean(clf && showsHeatmaps(clf.model));
    toggle.hidden = $('webcam-heatmap-hint').hidden = !can;
    note.hidden = can || !clf;
    if (clf && !can) note.textContent = `No heatmap with ${clf.model.name}: its ${clf.model.crop}-pixel input is too small to show where the evidence is (heatmaps need ${MIN_CAM_INPUT} pixels or more).`;
    if (!can) crop.hidden = true;
  };
  toggle.addEventListener('click', () => {
    on = !on;
    toggle.setAttribute('aria-pressed', String(on));
    if (!on) crop.hidden = true;
  });
  session.watch(update);
  return {
    /** Whether to ask clf for the map of the next frame. */
    wanted: (clf) => on && showsHeatmaps(clf.model),
    /** Shows cam at side x side pixels (or hides the layer when there is none). */
    draw(cam, side) {
      crop.hidden = !(on && cam);
      if (crop.hidden) return;
      placeOverCrop(crop, cam, { boxWidth: 4, boxHeight: 3, fit: 'cover' });
      if (canvas.width !== side) canvas.width = canvas.height = side; // the size the network saw
      drawHeatmap(canvas, cam);
      canvas.dataset.class = String(cam.index);
      canvas.setAttribute('aria-label', `Heatmap of ${cam.label} over the camera picture`);
    },
  };
}

function cameraErrorMessage(e) {
  switch (e.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'Camera access was denied. Allow the camera for this site in the browser’s settings, then try again.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No camera was found. Connect a camera and try again.';
    case 'NotReadableError':
    case 'AbortError':
      return 'The camera could not be started: another application may be using it.';
    default:
      return `The camera could not be started (${e.message}).`;
  }
}
