// Type declarations of resnet.js, the in-browser ResNet classifier.
// e2e/types/usage.ts is checked against them with `tsc --noEmit`.

/** Stable error codes; docs/app.md says when each is used. */
export type ResNetErrorCode =
  | 'unsupported-image' | 'image-too-large' | 'bad-image' | 'no-model' | 'network' | 'integrity'
  | 'bad-model' | 'bad-labels' | 'not-stored' | 'file-too-large' | 'bad-request' | 'internal'
  | 'engine' | 'stopped' | 'disposed';

export class ResNetError extends Error {
  readonly code: ResNetErrorCode;
  constructor(code: ResNetErrorCode, message: string);
}

/** Where a model's class names come from. */
export type LabelSource = 'imagenet' | 'file' | 'index';

/** One of torchvision's published ImageNet-1K checkpoints. */
export interface OfficialCheckpoint {
  name: string;    // what `resnet weights fetch` takes, e.g. 'resnet50-v2'
  arch: string;    // 'resnet50'
  weights: string; // 'IMAGENET1K_V2'
  file: string;    // 'resnet50-11ad3fa6.pth'
  url: string;
  acc1: number;    // percent
  acc5: number;
  resize: number;  // 256 or 232
  crop: number;    // 224
}

/** A model load() takes: bundled with the page, or added with addModel. */
export interface ModelInfo {
  name: string;
  arch: string;               // 'resnet18' ... 'resnet152'
  variant: 'v1.5' | 'v1';
  classes: number;
  labels: LabelSource;        // 'imagenet' for 1000 classes without a labels file: assumed unless official
  classNames: string[];
  official: null | { name: string; weights: string; acc1: number; title: string; url: string };
  bytes: number;              // size of the stored weights
  dtype: 'F32' | 'F16' | 'I8';
  accuracy: number | null;    // top-1, 0..1, where known
  source: string;
  added: boolean;
  stored: boolean;            // false: an added model the browser could not keep; gone after this page
  default: boolean;
  file: string | null;        // the file an added model came from
}

export type ProgressPhase = 'engine' | 'cache' | 'download' | 'build' | 'read' | 'convert' | 'store';

export interface ProgressEvent {
  phase: ProgressPhase;
  loaded?: number;
  total?: number;
  backend?: string;
}

export interface AddModelOptions {
  name?: string;
  labels?: string | string[] | Blob;
  variant?: 'v1.5' | 'v1';
  dtype?: 'f32' | 'f16' | 'int8';
  onProgress?: (event: ProgressEvent) => void;
}

export interface LoadOptions {
  model?: string;
  onProgress?: (event: ProgressEvent) => void;
  /** 'auto' (default): the faster of WebGPU and the CPU, measured on this device; 'webgpu' or 'wasm' (the CPU): that one. */
  backend?: 'auto' | 'webgpu' | 'wasm';
  workers?: number;
}

/**
 * Which backend runs the network and why. reason: 'measured' (timed on
 * this load: the CPU ran it meanwhile), 'measuring' (until then), 'remembered' (a
 * measurement of an earlier load on this device, of this model file and
 * worker count), 'forced' (load's backend option), 'fallback' (WebGPU is
 * not available, or failed: why says how).
 */
export interface BackendChoice {
  backend: 'webgpu' | 'wasm';
  reason: 'measuring' | 'measured' | 'remembered' | 'forced' | 'fallback';
  gpuMs: number | null; // median inference time on WebGPU, where measured
  cpuMs: number | null; // on the CPU, with the workers the load asked for
  why?: string;         // with 'fallback': a sentence for people
}

/** Milliseconds per step of a load; a step that did not happen is absent. */
export interface LoadTimings {
  start: number;      // starting the worker's Go program (0 when a worker was reused)
  cacheRead?: number; // reading the weights from IndexedDB (beside start when ResNet.preload began it, and then checking their SHA-256 too: verify is absent)
  download?: number;  // downloading them (likewise)
  verify?: number;    // SHA-256 against the manifest; a download is hashed as it arrives (this is the hashing's share of the download), a cached file beside parse and build (this is how long the load waited for it after them)
  parse: number;      // reading the safetensors header
  build: number;      // decoding, folding BatchNorm and packing the weights; a download is built as it arrives, and this counts the time the build ran, not its waits for bytes
  afterDownload?: number; // for a download: from the file's last byte to the build's end
  workers?: number;   // the other workers starting and joining, after the load
}

export interface ClassifyOptions {
  topK?: number;
  logits?: boolean;
  /** true: the top class's activation map; a class index: that class's. Also fills `cams`. */
  cam?: boolean | number;
}

/** A rectangle in a picture's pixels; its edges need not be whole pixels. */
export interface PixelRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * A class activation map (docs/cam.md): how much each position of the
 * last feature map adds to the class's logit (Zhou et al.'s M_k, without
 * the fc bias: the logit is the mean of values plus the bias).
 */
export interface ClassActivationMap {
  index: number;          // the class
  label: string;
  width: number;          // positions across: 7 for a 224-pixel input, 1 for the bundled 32-pixel models
  height: number;
  values: Float32Array;   // height x width, row-major, unnormalized
  /** The square the network saw (resized and center-cropped), in the input's pixels; it may reach past the input where preprocessing pads. */
  crop: PixelRect;
  input: { width: number; height: number }; // the input's size (after EXIF orientation)
}

export interface Prediction {
  index: number;
  label: string;
  prob: number;
}

export interface Classification {
  top: Prediction[];
  logits?: Float32Array;
  /** With the cam option: the asked class's map. */
  cam?: ClassActivationMap;
  /** With the cam option: the map of each class of top, in its order. */
  cams?: ClassActivationMap[];
  backend: string;
  timings: { decode: number; preprocess: number; inference: number; total: number };
  model: string;       // the model's name
  modelSource: string; // where its weights come from (its entry's source)
  date: string;        // when the result came, ISO 8601
}

/** A result as exportResults takes it: a Classification and the picture's name, or an error. */
export type ResultRecord =
  | (Classification & { file?: string })
  | { file?: string; model?: string; date?: string; error: string };

export type ClassifyInput =
  | Blob | HTMLImageElement | HTMLCanvasElement | OffscreenCanvas | ImageBitmap | HTMLVideoElement | ImageData;

export interface CacheInfo {
  available: boolean;
  reason?: string;
  files: { name: string; sha256: string; bytes: number; storedAt: number }[];
  bytes: number;
  usage?: number;
  quota?: number;
}

/** Whether a classify call failed only because its classifier went away meanwhile (a model change): retry with the current one. */
export function superseded(e: unknown): boolean;

/** How many workers load() spreads each image over unless told. */
export function defaultWorkers(): number;

export class ResNet {
  /**
   * Writes results as a file's text: 'csv' (UTF-8 with a byte-order mark,
   * quoted text, CRLF; a row a record: file, model, model_source, backend,
   * date, label_i/index_i/prob_i of each top class, the timings in ms,
   * error) or 'json' ({exported, results}).
   */
  static exportResults(records: ResultRecord[], format: 'csv' | 'json'): string;
  /** The entries of the page's manifest.json (bundled models). */
  static models(): Promise<object[]>;
  static listModels(): Promise<ModelInfo[]>;
  static officialCheckpoints(): Promise<OfficialCheckpoint[]>;
  static addModel(source: Blob | ArrayBuffer | ArrayBufferView | string | URL, options?: AddModelOptions): Promise<{ model: ModelInfo; notices: string[] }>;
  static removeModel(name: string): Promise<void>;
  static updateModel(name: string, change: { variant: 'v1.5' | 'v1' }): Promise<ModelInfo>;
  static load(options?: LoadOptions): Promise<ResNet>;
  /**
   * Starts what a later load({model, backend}) needs (the engine; for a
   * bundled model, the read of its weights from this browser's cache, or
   * else their download; for 'auto', the WebGPU adapter) so that it
   * finishes sooner. Optional; a load of another model ignores it.
   */
  static preload(options?: { model?: string; backend?: 'auto' | 'webgpu' | 'wasm' }): void;
  static cacheInfo(): Promise<CacheInfo>;
  static clearCache(): Promise<CacheInfo>;
  /** Forgets every measured backend choice: the next 'auto' load measures again. */
  static forgetBackendChoices(): void;

  /** The loaded model's manifest entry. */
  readonly model: { name: string; bytes: number; arch: string; labels: string[]; crop: number; source: string };
  readonly backend: string;
  readonly source: 'cache' | 'network' | 'page';
  readonly notices: string[];
  /** Where the load's time went. */
  readonly loadTimings: LoadTimings;
  /** How many Web Workers share each image now: 1 until the others have joined (see workersReady). */
  readonly workers: number;
  /**
   * Settles when the other workers asked of load() have joined, or could
   * not (then a notice says why); the coordinator classifies alone until then.
   */
  readonly workersReady: Promise<void>;
  /** Which backend runs the network and why; with reason 'measuring' until backendReady resolves. */
  readonly backendChoice: BackendChoice;
  /** Resolves to the backendChoice once the measurement (if any) is done and the faster backend runs. */
  readonly backendReady: Promise<BackendChoice>;
  onBackendChange: null | ((change: { backend: string; notice?: string }) => void);
  classify(input: ClassifyInput, options?: ClassifyOptions): Promise<Classification>;
  dispose(): void;
}
