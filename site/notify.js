// Short-lived messages in a corner of the page, for things that belong to
// no particular element (a failed clipboard paste, a failed cache clear).

const TOAST_MS = 8000;

/** Shows message; kind 'error' is announced assertively. */
export function toast(message, kind = 'info') {
  const box = document.getElementById('toasts');
  const el = document.createElement('div');
  el.className = `toast ${kind}`;
  el.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  const text = document.createElement('span');
  text.textContent = message;
  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'toast-close';
  close.setAttribute('aria-label', 'Dismiss');
  close.textContent = '×';
  close.onclick = () => el.remove();
  el.append(text, close);
  box.append(el);
  setTimeout(() => el.remove(), TOAST_MS);
}
