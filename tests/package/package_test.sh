#!/usr/bin/env bash
# Installs the built tree into a scratch prefix, then builds and runs a small
# consumer against it three ways: CMake package (shared and static) and
# pkg-config. Usage: package_test.sh <build-dir> <scratch-dir>
set -euo pipefail
build=$1
scratch=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$scratch"
prefix=$scratch/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null

# 1. CMake: find_package(lossblas) -> lossblas::lossblas / lossblas::lossblas_static
cmake -S "$here" -B "$scratch/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$scratch/cmake-build" >/dev/null
LD_LIBRARY_PATH=$prefix/lib:$prefix/lib64:${LD_LIBRARY_PATH:-} "$scratch/cmake-build/consumer_shared"
# (ldd output goes through a variable: grep -q closing the pipe early would
# trip pipefail)
deps=$(ldd "$scratch/cmake-build/consumer_shared")
grep -q "liblossblas.so.0 => $prefix" <<<"$deps" \
  || { echo "consumer_shared is not linked to the installed liblossblas.so.0"; exit 1; }
"$scratch/cmake-build/consumer_static"
deps=$(ldd "$scratch/cmake-build/consumer_static")
if grep -q liblossblas <<<"$deps"; then
  echo "consumer_static links liblossblas dynamically"; exit 1
fi

# 2. pkg-config: cc $(pkg-config --cflags --libs lossblas)
pcdir=$(dirname "$(find "$prefix" -name lossblas.pc | head -n 1)")
export PKG_CONFIG_PATH=$pcdir
cc -o "$scratch/consumer_pc" "$here/consumer.c" $(pkg-config --cflags lossblas) \
   $(pkg-config --libs lossblas) -lm
LD_LIBRARY_PATH=$(pkg-config --variable=libdir lossblas) "$scratch/consumer_pc"
# static: the archive itself, plus the private libraries pkg-config lists
libdir=$(pkg-config --variable=libdir lossblas)
cc -o "$scratch/consumer_pc_static" "$here/consumer.c" $(pkg-config --cflags lossblas) \
   "$libdir/liblossblas.a" $(pkg-config --static --libs lossblas | sed 's/-llossblas//')
"$scratch/consumer_pc_static"
echo "package test passed: CMake shared, CMake static, pkg-config shared, pkg-config static"
