#!/bin/sh
# Prepares bench/gpu/carry/ for device.sh: everything the GPU machine lacks
# (it has no Go, no Node, no network), compressed to fit the 64 MiB that
# travels: bench/wasm built for js/wasm with SIMD128, Go's wasm_exec.js,
# this machine's Node, Dawn's dawn.node and its loader from npm `webgpu`,
# and Debian's Vulkan loader and glvnd libraries for a machine without them.
#
#   sh bench/gpu/pack.sh     # about a minute; then see device.sh
set -eu
cd "$(dirname "$0")/../.."
export GOTOOLCHAIN=auto
carry=bench/gpu/carry
mkdir -p "$carry"
[ -d bench/gpu/node_modules/webgpu ] || (cd bench/gpu && npm ci --ignore-scripts --no-audit --no-fund)
GOOS=js GOARCH=wasm GOEXPERIMENT=simd go build -o "$carry/bench.wasm" ./bench/wasm
xz -T2 -6 -f "$carry/bench.wasm"
cp "$(go env GOROOT)/lib/wasm/wasm_exec.js" "$carry/"
webgpu=bench/gpu/node_modules/webgpu
cp "$webgpu/index.js" "$webgpu/package.json" "$carry/"
xz -T2 -6 -c "$webgpu/dist/linux-x64/dawn.node" > "$carry/dawn.node.xz"
node=$(command -v node)
if [ ! -f "$carry/node.xz" ] || [ "$(cat "$carry/node.version" 2>/dev/null)" != "$("$node" --version)" ]; then
	xz -T2 --x86 --lzma2=preset=9e -c "$node" > "$carry/node.xz" # 1 MB less than -6: the parity run is near the limit
	"$node" --version > "$carry/node.version"
fi
# NVIDIA's Vulkan driver is libGLX_nvidia.so.0, which needs glvnd's libraries.
(cd "$carry" && rm -f ./*.deb && apt-get download libvulkan1 libglvnd0 libegl1 libgl1 libglx0 libopengl0 libgles2 >/dev/null 2>&1) ||
	echo "pack.sh: could not download the Vulkan loader and glvnd; device.sh then needs them on the GPU machine" >&2
# The Fashion-MNIST test set for device.sh --parity: the images as xz (0.6
# MB less than Debian's gzip), the labels as they are.
data=/usr/share/datasets/fashion-mnist
gzip -dc "$data/t10k-images-idx3-ubyte.gz" | xz -T2 -9e > "$carry/t10k-images-idx3-ubyte.xz"
cp "$data/t10k-labels-idx1-ubyte.gz" "$carry/"
du -sh "$carry"
