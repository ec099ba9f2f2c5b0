// Webcam mode: classifies the camera's frames as fast as the classifier
// keeps up; frames that arrive while it is busy are skipped and counted.
import { renderBars } from './bars.js';
import { formatMs } from './format.js';

const $ = (id) => document.getElementById(id);

// Frames per second are counted over this window.
const FPS_WINDOW_MS = 2000;

export function setupWebcam(session) {
  const video = $('webcam-video');
  const toggle = $('webcam-toggle');
  const errorText = $('webcam-error');
  let stream = null;
  let busy = false;
  let skipped = 0;
  let done = []; // completion times of recent classifications

  const showError = (message) => {
    errorText.textContent = message;
    errorText.hidden = !message;
  };

  const setRunning = (running) => {
    toggle.textContent = running ? 'Stop camera' : 'Start camera';
    toggle.classList.toggle('secondary', running);
    toggle.setAttribute('aria-pressed', String(running));
    $('webcam-placeholder').hidden = running;
    video.closest('.video-frame').classList.toggle('live', running);
  };

  async function start() {
    showError('');
    if (!navigator.mediaDevices?.getUserMedia) {
      showError('This browser offers no camera access here. Camera access needs a secure page (https or localhost).');
      return;
    }
    toggle.disabled = true;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'user', width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
      video.srcObject = stream;
      await video.play();
    } catch (e) {
      stop();
      showError(cameraErrorMessage(e));
      return;
    } finally {
      toggle.disabled = false;
    }
    skipped = 0;
    done = [];
    $('webcam-skipped').textContent = '0';
    setRunning(true);
    video.requestVideoFrameCallback(onFrame);
  }

  function stop() {
    for (const track of stream?.getTracks() ?? []) track.stop();
    stream = null;
    video.srcObject = null;
    setRunning(false);
    $('webcam-fps').textContent = '–';
  }

  function onFrame() {
    if (!stream) return;
    video.requestVideoFrameCallback(onFrame);
    const clf = session.current();
    if (busy || !clf) {
      skipped++;
      $('webcam-skipped').textContent = String(skipped);
      return;
    }
    busy = true;
    clf.classify(video).then((r) => {
      if (!stream) return;
      renderBars($('webcam-bars'), r.top);
      $('webcam-inference').textContent = formatMs(r.timings.inference);
      const now = performance.now();
      done.push(now);
      done = done.filter((t) => now - t <= FPS_WINDOW_MS);
      if (done.length > 1) $('webcam-fps').textContent = ((done.length - 1) * 1000 / (now - done[0])).toFixed(1);
      showError('');
    }, (e) => showError(e.message)).finally(() => { busy = false; });
  }

  toggle.addEventListener('click', () => (stream ? stop() : start()));
  return { stop };
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
