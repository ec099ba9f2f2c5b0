// A page using resnet.js as its declarations (site/resnet.d.ts) describe
// it; `tsc -p e2e/types` checks this file, so a declaration that drifts
// from the library's documented use fails the tests.
import { ResNet, ResNetError, defaultWorkers, type ModelInfo } from '../../site/resnet.js';

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
  const clf = await ResNet.load({ model: model.name, backend: 'wasm', workers: defaultWorkers() });
  const { top, logits, timings } = await clf.classify(photo, { topK: 3, logits: true });
  const best: { label: string; prob: number; index: number } = top[0];
  console.log(best.label, best.prob, best.index, logits?.length, timings.inference, clf.backend, clf.model.name, added);
  clf.dispose();

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
