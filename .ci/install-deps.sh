#!/usr/bin/env bash
# Installs the Debian 12 packages lossblas needs to build, test and benchmark.
# Idempotent and quiet: does nothing when everything is already installed.
set -euo pipefail
packages=(
  build-essential cmake pkg-config   # toolchain
  libopenblas-dev liblapacke-dev     # CBLAS for the library, LAPACKE for tests
  libcriterion-dev                   # unit tests
  libbenchmark-dev libbenchmark-tools  # microbenchmarks, compare.py
  libdnnl-dev                        # oneDNN peer in the benchmarks
  gnuplot-nox                        # throughput plot
  python3                            # bench report and CI check
  clang libclang-rt-14-dev libomp-dev  # libFuzzer harnesses
  valgrind                           # memcheck over the tests
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
