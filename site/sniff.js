// Tells what a dropped or picked file is from its first bytes, not its
// name: a PyTorch checkpoint, a labels file, or (anything else) an image,
// which the classifier then accepts or refuses with a clear message.

const HEAD_BYTES = 4096;

const startsWith = (bytes, prefix) => prefix.every((b, i) => bytes[i] === b);

const ZIP = [0x50, 0x4b, 0x03, 0x04]; // torch.save since PyTorch 1.6
const LEGACY_PICKLE = [0x80, 0x02, 0x8a, 0x0a]; // torch.save before 1.6: read to say so

/** A safetensors file: an 8-byte little-endian header length, then a JSON object. */
function isSafetensors(bytes, size) {
  if (bytes.length < 9 || bytes[8] !== 0x7b) return false; // '{'
  const view = new DataView(bytes.buffer, bytes.byteOffset, 8);
  const headerLength = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  return headerLength >= 2 && headerLength <= size - 8;
}

/** UTF-8 text with no NUL bytes that does not look like markup (SVG, HTML). */
function isText(bytes) {
  if (bytes.length === 0 || bytes.includes(0)) return false;
  try {
    // A multi-byte character cut at the end of the head is not an error.
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, bytes.length - 3));
    return !/^\s*</.test(text);
  } catch {
    return false;
  }
}

/** 'checkpoint', 'labels' or 'image' (which includes anything unknown). */
export async function kindOf(file) {
  const head = new Uint8Array(await file.slice(0, HEAD_BYTES).arrayBuffer());
  if (startsWith(head, ZIP) || startsWith(head, LEGACY_PICKLE) || isSafetensors(head, file.size)) return 'checkpoint';
  if (isText(head)) return 'labels';
  return 'image';
}
