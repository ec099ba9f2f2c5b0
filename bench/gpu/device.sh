#!/bin/sh
# The real-GPU run, as one command on a machine with a GPU, a Vulkan driver
# and PyTorch, but no Go, no Node and no network (see bench/gpu/README.md).
# Run bench/gpu/pack.sh first where Go and npm work; bench/gpu/carry/ must
# travel with the tree. It prints one table (ours in f32, f16 storage and
# f16 arithmetic, the last where the adapter has shader-f16, beside PyTorch
# eager on the same weights and input) and the per-dispatch GPU times, and
# leaves gpu.txt, runner.md, table.md, results.json and
# torch.json in $OUT (or /tmp/resnet-gpu/out).
#
#   sh bench/gpu/device.sh [run.mjs flags, e.g. --nets resnet18 --runs 50]
#   (PYTHON=/usr/bin/python3 picks the Python that has PyTorch)
#   sh bench/gpu/device.sh --parity [--models fashion-resnet50] [--images 10000]
#
# --parity runs the bundled models (weights/) on the Fashion-MNIST test
# images that pack.sh put in the carry, f32 against f16 (run.mjs
# --parity), and leaves parity.md and parity.json in $OUT instead. The tree
# with both models' weights and the carry is over the 64 MiB that travel:
# run one model a call, with the other model's weights file out of the tree.
set -eu
cd "$(dirname "$0")/../.."
carry=bench/gpu/carry
work=/tmp/resnet-gpu
out=${OUT:-$work/out}
mkdir -p "$work/data" "$out"
unxz() { python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; }

# Vulkan: the loader and glvnd (NVIDIA's driver, libGLX_nvidia.so.0, needs
# libGLdispatch) where the machine lacks them, NVIDIA's driver where the
# loader would not find it by itself.
if ! ldconfig -p | grep -q 'libvulkan.so.1 ' || ! ldconfig -p | grep -q 'libGLdispatch.so.0 '; then
	for f in "$carry"/*.deb; do dpkg -x "$f" /; done
	ldconfig
fi
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" ] && [ -f "$nvidia_icd" ]; then
	export VK_DRIVER_FILES="$nvidia_icd"
fi

# Node, dawn.node and the wasm, where run.mjs looks for them.
unxz "$carry/node.xz" "$work/node" && chmod +x "$work/node"
webgpu=bench/gpu/node_modules/webgpu
mkdir -p "$webgpu/dist/linux-x64"
cp "$carry/index.js" "$carry/package.json" "$webgpu/"
unxz "$carry/dawn.node.xz" "$webgpu/dist/linux-x64/dawn.node"
unxz "$carry/bench.wasm.xz" "$work/bench.wasm"
cp "$carry/wasm_exec.js" "$work/"

{
	nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv || echo "no nvidia-smi"
	echo "Vulkan drivers: ${VK_DRIVER_FILES:-${VK_ICD_FILENAMES:-the loader's default paths}}"
	ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>/dev/null || true
	nproc
} > "$out/gpu.txt" 2>&1
cat "$out/gpu.txt"
if [ "${1:-}" = --parity ]; then
	mkdir -p "$work/fashion"
	python3 -c 'import gzip, lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), gzip.open(sys.argv[2], "wb", 1))' \
		"$carry/t10k-images-idx3-ubyte.xz" "$work/fashion/t10k-images-idx3-ubyte.gz"
	cp "$carry/t10k-labels-idx1-ubyte.gz" "$work/fashion/"
	"$work/node" bench/gpu/run.mjs --wasm "$work/bench.wasm" --out "$work/data" --fashion "$work/fashion" --weights weights "$@" > "$out/parity.md"
	cp "$work/data/parity.json" "$out/"
	cat "$out/parity.md"
	exit
fi
"$work/node" bench/gpu/run.mjs --wasm "$work/bench.wasm" --out "$work/data" "$@" > "$out/runner.md"
cp "$work/data/results.json" "$out/"
"${PYTHON:-python3}" bench/gpu/torch_cuda.py --dir "$work/data" > "$out/table.md"
cp "$work/data/torch.json" "$out/"
cat "$out/table.md"
echo
cat "$out/runner.md"
