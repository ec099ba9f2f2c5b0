#!/usr/bin/python3
"""Runs the CLI on each hostile input of issue 17's list and reports its
exit code, its one-line error and its peak resident memory (GNU time's
maximum resident set size), so that docs can say what each costs.

    /usr/bin/python3 bench/hostile_memory.py

Builds cmd/resnet, writes the inputs into a scratch folder (the zip bomb
needs about 4 GB of memory and disk while it is made) and serves an endless
body for `weights fetch` from a local thread.
"""
import http.server, os, re, subprocess, sys, tempfile, threading, zipfile

import torch, torchvision

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))



def save_pth(path, state):
    torch.save(state, path)


def zip_bomb(path, floats):
    """A .pth whose one storage declares `floats` float32s of zeros,
    deflated: a few MB on disk, 4 bytes a float once inflated."""
    plain = path + ".plain"
    torch.save({"conv1.weight": torch.zeros(floats)}, plain)
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            deflated = zipfile.ZipInfo(info.filename)
            deflated.compress_type = zipfile.ZIP_DEFLATED
            with src.open(info) as r, dst.open(deflated, "w", force_zip64=True) as w:
                while chunk := r.read(1 << 24):
                    w.write(chunk)
    os.remove(plain)


def resnet18(**change):
    torch.manual_seed(0)
    state = torchvision.models.resnet18(num_classes=10).state_dict()
    for name, edit in change.items():
        edit(state[name.replace("__", ".")])
    return state


class Endless(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"\0" * 65536
        try:
            while True:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


def main():
    tmp = tempfile.mkdtemp(prefix="hostile-")
    binary = os.path.join(tmp, "resnet")
    subprocess.run(["go", "build", "-o", binary, "./cmd/resnet"], cwd=ROOT, check=True, env={**os.environ, "GOTOOLCHAIN": "auto"})
    image = os.path.join(tmp, "image.png")
    subprocess.run(["go", "run", "./cmd/fashion-images", "-out", tmp, "-index", "0"], cwd=ROOT, check=True,
                   env={**os.environ, "GOTOOLCHAIN": "auto"}, stdout=subprocess.DEVNULL)
    pngs = [f for f in os.listdir(tmp) if f.endswith(".png")]
    image = os.path.join(tmp, pngs[0])

    bomb = os.path.join(tmp, "bomb.pth")
    zip_bomb(bomb, 1 << 30)
    inf = os.path.join(tmp, "inf.pth")
    save_pth(inf, resnet18(conv1__weight=lambda t: t.view(-1)[0].fill_(float("inf"))))
    nan = os.path.join(tmp, "nan-var.pth")
    save_pth(nan, resnet18(bn1__running_var=lambda t: t.fill_(float("nan"))))
    good = os.path.join(tmp, "good.pth")
    save_pth(good, resnet18())
    wide = os.path.join(tmp, "wide-fc.pth")
    state = resnet18()
    state["fc.bias"] = torch.zeros(20_000_000, dtype=torch.float16)
    save_pth(wide, state)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Endless)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = "http://127.0.0.1:%d/" % server.server_address[1]

    cases = [
        ("classify, zip bomb .pth (%.1f MB declaring 2^30 floats)" % (os.path.getsize(bomb) / 1e6), ["classify", "-weights", bomb, image]),
        ("convert, the same zip bomb", ["convert", bomb, os.path.join(tmp, "out.safetensors")]),
        ("classify, +Inf in conv1.weight", ["classify", "-weights", inf, image]),
        ("convert, +Inf in conv1.weight", ["convert", inf, os.path.join(tmp, "out.safetensors")]),
        ("classify, NaN bn1.running_var", ["classify", "-weights", nan, image]),
        ("classify, -weights /dev/zero", ["classify", "-weights", "/dev/zero", image]),
        ("classify, image /dev/zero", ["classify", "-weights", good, "/dev/zero"]),
        ("classify, fc.bias of shape [20000000] (%.0f MB file)" % (os.path.getsize(wide) / 1e6), ["classify", "-weights", wide, image]),
        ("weights fetch resnet18, endless chunked body", ["weights", "fetch", "resnet18", "-base", base, "-dir", os.path.join(tmp, "w")]),
    ]
    print("| input | exit | peak RSS | message |\n|---|--:|--:|---|")
    for what, args in cases:
        r = subprocess.run(["/usr/bin/time", "-v", binary, *args], capture_output=True, text=True)
        rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1)) / 1024
        lines = [l for l in r.stderr.splitlines() if l.startswith("resnet ")]
        print("| %s | %d | %.0f MiB | %s |" % (what, r.returncode, rss, (lines[0] if lines else r.stdout.strip()[:120]).replace("|", "\\|")))
    server.shutdown()
    subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    sys.exit(main())
