#!/usr/bin/env bash
# Builds and runs a program that uses rankpool the way a user of the package would, and checks
# its output. One consumer per call (each is its own ctest test, label "install"):
#   cmake         install the build into a temporary prefix; consumer_cmake/ with
#                 find_package(rankpool) and rankpool::rankpool
#   pkgconfig     install likewise; consumer_pkgconfig/main.cpp compiled by the C++ compiler
#                 with $(pkg-config --cflags --libs rankpool) only
#   subdir        consumer_subdir/ with add_subdirectory(<rankpool source>)
#   fetchcontent  consumer_subdir/ with FetchContent, pointed at the source tree
#   readme        the README's first C++ example, built against the build tree's export
#                 (rankpool_DIR=<build>), must print "1 4 9 16 25"
# Each program runs under mpiexec -n 2 --oversubscribe.
#
# Usage: run_consumers.sh MODE --source DIR --build DIR --version V --cxx CXX --mpiexec PATH
set -euo pipefail

mode=${1:?usage: run_consumers.sh MODE --source DIR --build DIR --version V --cxx CXX --mpiexec P}
shift
source_dir="" build_dir="" version="" cxx="c++" mpiexec="mpiexec" python="python3"
while (($#)); do
  case "$1" in
    --source) source_dir=$2 ;;
    --build) build_dir=$2 ;;
    --version) version=$2 ;;
    --cxx) cxx=$2 ;;
    --mpiexec) mpiexec=$2 ;;
    --python) python=$2 ;;
    *) echo "run_consumers.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift 2
done
[[ -n $source_dir && -n $build_dir && -n $version ]] || { echo "missing --source/--build/--version" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d "${TMPDIR:-/tmp}/rankpool-consumer-$mode.XXXXXX")
trap 'rm -rf "$work"' EXIT

step() { echo "== $mode: $*"; }

install_build() {
  step "cmake --install $build_dir --prefix $work/prefix"
  cmake --install "$build_dir" --prefix "$work/prefix" >"$work/install.log" \
    || { cat "$work/install.log"; exit 1; }
}

cmake_build() {  # cmake_build SOURCE_DIR [ -D... ]
  local src=$1
  shift
  step "configure and build $src"
  cmake -S "$src" -B "$work/build" -DCMAKE_CXX_COMPILER="$cxx" "$@"
  cmake --build "$work/build" -j 2
}

run_and_expect() {  # run_and_expect EXE REGEX: runs on 2 ranks; one output line must match
  local exe=$1 expected=$2
  step "mpiexec -n 2 --oversubscribe $exe"
  local out
  out=$("$mpiexec" -n 2 --oversubscribe "$exe")
  echo "$out"
  if ! grep -Eq -- "$expected" <<<"$out"; then
    echo "FAIL ($mode): no output line matches: $expected" >&2
    exit 1
  fi
  echo "PASS ($mode): $expected"
}

v=${version//./\\.}
case "$mode" in
  cmake)
    install_build
    # The package must be found through the prefix alone, nowhere else.
    cmake_build "$here/consumer_cmake" -DCMAKE_PREFIX_PATH="$work/prefix" \
      -DEXPECTED_RANKPOOL_VERSION="$version" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
    found=$(sed -n 's/^rankpool_DIR:PATH=//p' "$work/build/CMakeCache.txt")
    [[ $found == "$work/prefix/"* ]] \
      || { echo "FAIL: find_package(rankpool) used $found, not the installed prefix" >&2; exit 1; }
    run_and_expect "$work/build/app" "^consumer_cmake: rankpool $v: sum of squares 1\.\.100 = 338350$"
    ;;
  pkgconfig)
    install_build
    pc=$(find "$work/prefix" -name rankpool.pc)
    [[ -n $pc ]] || { echo "FAIL: no rankpool.pc installed" >&2; exit 1; }
    export PKG_CONFIG_PATH="$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
    [[ $(pkg-config --modversion rankpool) == "$version" ]] \
      || { echo "FAIL: pkg-config --modversion rankpool is not $version" >&2; exit 1; }
    flags=$(pkg-config --cflags --libs rankpool)
    step "$cxx -std=c++17 main.cpp $flags"
    # shellcheck disable=SC2086  # the flags are words
    "$cxx" -std=c++17 "$here/consumer_pkgconfig/main.cpp" -o "$work/app" $flags
    run_and_expect "$work/app" "^consumer_pkgconfig: rankpool $v: sum of cubes 1\.\.10 = 3025$"
    ;;
  subdir | fetchcontent)
    if [[ $mode == subdir ]]; then
      cmake_build "$here/consumer_subdir" -DRANKPOOL_SOURCE_DIR="$source_dir"
    else
      cmake_build "$here/consumer_subdir" -DUSE_FETCHCONTENT=ON \
        -DFETCHCONTENT_SOURCE_DIR_RANKPOOL="$source_dir" -DFETCHCONTENT_FULLY_DISCONNECTED=ON
    fi
    run_and_expect "$work/build/app" \
      "^consumer_subdir: rankpool $v: fibonacci 1 1 2 3 5 8 13 21 34 55 89 144$"
    ;;
  readme)
    "$python" "$here/extract_readme_example.py" "$source_dir/README.md" "$work/readme_example.cpp"
    step "the README's first example:"
    cat "$work/readme_example.cpp"
    cmake_build "$here/consumer_cmake" -Drankpool_DIR="$build_dir" \
      -DEXPECTED_RANKPOOL_VERSION="$version" -DCONSUMER_SOURCE="$work/readme_example.cpp"
    run_and_expect "$work/build/app" "^1 4 9 16 25 *$"
    ;;
  *)
    echo "run_consumers.sh: unknown mode $mode" >&2
    exit 2
    ;;
esac
