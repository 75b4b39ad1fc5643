#!/usr/bin/env bash
# Installs everything bias-transfer needs on a fresh Debian 12 machine (run as root), then the
# npm dependencies (which builds the libtorch addon) and the compiled CLI.
#   libtorch-dev          the compute engine (PyTorch 1.13 CPU, oneDNN inside)
#   libopenblas0-pthread  an optimized BLAS for libtorch's matrix products (Debian's default
#                         libblas3 is the slow reference implementation)
#   dataset-fashion-mnist Fashion-MNIST IDX files under /usr/share/datasets/fashion-mnist
#   python3-torch, python3-torchvision   the PyTorch reference, for parity tests and benchmarks only
#   build-essential, python3  node-gyp's toolchain
#   redis-server          the queue's store for distributed sweeps (--queue, --workers, worker);
#                         tests and --workers start their own private server (127.0.0.1, temp dir)
#   chromium              the real browser the `serve` web app and the HTML report are tested in
#                         (driven by playwright-core; tests only)
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for p in libtorch-dev libopenblas0-pthread dataset-fashion-mnist python3-torch python3-torchvision build-essential python3 chromium redis-server; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Build against the system's Node headers (no download of Node's headers).
export npm_config_nodedir="${npm_config_nodedir:-/usr}"
npm ci --no-audit --no-fund
npm run build
