#!/usr/bin/env bash
# Runs every test of the project on a Debian machine: installs what the tests
# need (Debian's PyTorch as the reference oracle, Fashion-MNIST, Chromium),
# makes the large PyTorch goldens, then runs the Go tests of the plain and the
# SIMD builds natively and as WebAssembly under Node, and the browser tests.
set -euo pipefail
cd "$(dirname "$0")"
export GOTOOLCHAIN=auto # go.mod's toolchain line fetches Go 1.27

step() { printf '\n== %s\n' "$*"; }

need_apt=()
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null || need_apt+=(python3-torch python3-torchvision)
[ -d /usr/share/datasets/fashion-mnist ] || need_apt+=(dataset-fashion-mnist)
/sbin/ldconfig -p | grep -q 'libvulkan.so.1 ' || need_apt+=(libvulkan1) # Dawn's Node bindings (bench/gpu)
if [ ${#need_apt[@]} -gt 0 ]; then
	step "installing Debian packages: ${need_apt[*]}"
	SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update -q
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need_apt[@]}"
fi

# lavapipe, Mesa's CPU Vulkan driver, is the one adapter here that runs f16
# arithmetic (shader-f16), for e2e/gpu-runner.test.mjs. Dawn needs a newer
# one than bookworm's Mesa 22.3: bookworm-backports has Mesa 25.
mesa=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
if [ "${mesa%%.*}" -lt 25 ] 2>/dev/null || [ -z "$mesa" ]; then
	codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
	step "installing Mesa's Vulkan drivers (lavapipe) from $codename-backports"
	SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
	echo "deb http://deb.debian.org/debian $codename-backports main" | $SUDO tee "/etc/apt/sources.list.d/$codename-backports.list" > /dev/null
	$SUDO apt-get update -q
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends -t "$codename-backports" mesa-vulkan-drivers
fi

step "PyTorch goldens (testdata-gen/golden)"
# .complete holds the hash of the scripts that wrote them: a changed script
# (new reference outputs, or a new file layout) makes them again.
golden_script=$(cat tools/golden/make_goldens.py tools/pyutil/safetensors_io.py | sha256sum | cut -d' ' -f1)
if [ "$(cat testdata-gen/golden/.complete 2>/dev/null)" != "$golden_script" ]; then
	/usr/bin/python3 tools/golden/make_goldens.py testdata-gen/golden
	echo "$golden_script" > testdata-gen/golden/.complete
fi

step "PyTorch reference predictions for the bundled models (testdata-gen/fashion-ref)"
mkdir -p testdata-gen/fashion-ref
/usr/bin/python3 - <<'PY' | while read -r model sha; do
import json
for m in json.load(open("weights/manifest.json"))["models"]:
    if m["name"].startswith("fashion-"):
        print(m["name"], m["sha256"])
PY
	ref=testdata-gen/fashion-ref/$model.pred
	if ! grep -qs "$sha" "$ref.json"; then
		/usr/bin/python3 tools/train/eval_reference.py --model "$model" "$ref"
	fi
done

step "gofmt, go vet; generated code up to date"
unformatted=$("$(go env GOROOT)/bin/gofmt" -l .) # the toolchain go.mod names
[ -z "$unformatted" ] || { echo "gofmt would change: $unformatted" >&2; exit 1; }
go vet ./...
GOEXPERIMENT=simd GOOS=js GOARCH=wasm go vet ./engine/kernel # the assembly kernel against its Go declaration
go generate ./engine/kernel
git diff --exit-code -- engine/kernel || { echo "engine/kernel: generated files are stale: run go generate ./engine/kernel" >&2; exit 1; }

step "Go tests, plain build"
# The 10,000-image accuracy runs once, in the SIMD build below; the kernels
# of both builds are checked against each other and PyTorch's goldens here.
go test -count=1 -skip TestBundledModelsMatchPyTorch ./...

step "Go tests, SIMD build (GOEXPERIMENT=simd)"
GOEXPERIMENT=simd go test -count=1 ./...

step "fuzz targets, 10 s each (a new crash fails the run)"
for target in \
	engine/checkpoint:FuzzReadSafetensors engine/checkpoint:FuzzReadPTH engine/checkpoint:FuzzPTHPickle \
	engine/preprocess:FuzzOrientation engine/preprocess:FuzzDecodeTensor \
	weights:FuzzParse weights:FuzzParseLabels cmd/build-wasm:FuzzFileName; do
	go test -run '^$' -fuzz "^${target#*:}\$" -fuzztime 10s "./${target%%:*}"
done

step "Go tests as WebAssembly under Node, plain and SIMD128 builds"
export PATH="$PATH:$(go env GOROOT)/lib/wasm" # go_js_wasm_exec
GOOS=js GOARCH=wasm go test -count=1 ./engine/...
GOEXPERIMENT=simd GOOS=js GOARCH=wasm go test -count=1 ./engine/...

step "browser worker (wasm/) and WebGPU backend (webgpu/) under Node"
GOOS=js GOARCH=wasm go vet ./wasm/ ./webgpu/... ./bench/...
GOOS=js GOARCH=wasm go test -count=1 -exec="$(go env GOROOT)/lib/wasm/go_js_wasm_exec" ./wasm/

step "browser tests (e2e/), headless Chromium"
if [ ! -x /usr/bin/chromium ]; then
	SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update -q
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends chromium
fi
node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 20 ? 1 : 0)' || { echo "the browser tests need Node 20 or newer" >&2; exit 1; }
# npm ci again when the installed packages are not the lock file's.
packages='["playwright-core", "typescript"]'
wanted=$(node -e "const l = require('./e2e/package-lock.json'); for (const p of $packages) console.log(l.packages['node_modules/' + p].version)")
installed=$(node -e "for (const p of $packages) console.log(require('./e2e/node_modules/' + p + '/package.json').version)" 2>/dev/null || true)
[ "$installed" = "$wanted" ] || (cd e2e && npm ci --no-audit --no-fund)

step "the GPU runner's packages (bench/gpu: npm webgpu, Dawn's Node bindings)"
wanted=$(node -e "console.log(require('./bench/gpu/package-lock.json').packages['node_modules/webgpu'].version)")
installed=$(node -e "console.log(require('./bench/gpu/node_modules/webgpu/package.json').version)" 2>/dev/null || true)
[ "$installed" = "$wanted" ] || (cd bench/gpu && npm ci --ignore-scripts --no-audit --no-fund)

step "resnet.js type declarations (tsc on e2e/types/usage.ts)"
e2e/node_modules/.bin/tsc -p e2e/types

step "browser tests (e2e/*.test.mjs)"
node --test e2e/
