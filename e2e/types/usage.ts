// A page using resnet.js as its declarations (site/resnet.d.ts) describe
// it; `tsc -p e2e/types` checks this file, so a declaration that drifts
// from the library's documented use fails the tests.
import {
  ResNet, ResNetError, defaultWorkers, type BackendChoice, type ClassActivationMap, type ModelInfo, type PixelRect, type ResultRecord,
} from '../../site/resnet.js';

async function addAndClassify(file: File, labels: File, photo: Blob): Promise<void> {
  const { model, notices } = await ResNet.addModel(file, {
    labels, variant: 'v1.5', dtype: 'f16',
    onProgress: (e) => console.log(e.phase, e.loaded ?? 0, e.total ?? 0),
  });
  const kind: 'imagenet' | 'file' | 'index' = model.labels;
  console.log(model.name, model.arch, model.classes, kind, model.official?.title ?? 'not official', model.bytes, notices.join(' '));
  await ResNet.addModel('https://download.pytorch.org/models/resnet18-f37072fd.pth', { name: 'resnet18' });

  const models: ModelInfo[] = await ResNet.listModels();
  const added = models.filter((m) => m.added && m.stored).map((m) => m.name);
  ResNet.preload({ model: model.name, backend: 'wasm' });
  const clf = await ResNet.load({ model: model.name, backend: 'wasm', workers: defaultWorkers() });
  const { top, logits, timings } = await clf.classify(photo, { topK: 3, logits: true });
  const best: { label: string; prob: number; index: number } = top[0];
  console.log(best.label, best.prob, best.index, logits?.length, timings.inference, clf.backend, clf.model.name, added);

  // Class activation maps: the top class's, then another class's; the crop in the photo's pixels.
  const withMap = await clf.classify(photo, { cam: true });
  const map: ClassActivationMap | undefined = withMap.cam;
  if (map) {
    const { x, y, width, height }: PixelRect = map.crop;
    console.log(map.index, map.label, map.width * map.height === map.values.length, x, y, width, height, map.input.width);
  }
  const second = await clf.classify(photo, { cam: withMap.top[1].index });
  console.log(second.cam?.values[0], second.cams?.length, clf.model.crop);

  const records: ResultRecord[] = [{ ...withMap, file: 'photo.jpg' }, { file: 'bad.txt', error: 'not an image' }];
  const csv: string = ResNet.exportResults(records, 'csv');
  const json: string = ResNet.exportResults(records, 'json');
  console.log(csv.length, JSON.parse(json).results.length, withMap.model, withMap.modelSource, withMap.date);
  clf.dispose();

  // The measured backend: the CPU answers until the measurement is done.
  const auto = await ResNet.load({ model: model.name });
  const first: BackendChoice = auto.backendChoice;
  const chosen = await auto.backendReady;
  const backend: 'webgpu' | 'wasm' = chosen.backend;
  if (chosen.reason === 'measured' || chosen.reason === 'remembered') console.log(chosen.gpuMs ?? 0, chosen.cpuMs ?? 0);
  console.log(first.reason, backend, chosen.why ?? '');
  auto.dispose();
  ResNet.forgetBackendChoices();

  await ResNet.updateModel(model.name, { variant: 'v1' });
  await ResNet.removeModel(model.name);
  const cache = await ResNet.cacheInfo();
  console.log(cache.available, cache.files.length, (await ResNet.officialCheckpoints()).map((o) => o.url));
}

try {
  await addAndClassify(new File([], 'r.pth'), new File([], 'labels.txt'), new Blob());
} catch (e) {
  if (e instanceof ResNetError && e.code === 'bad-model') console.error(e.message);
}
