#!/usr/bin/env bash
# bench/externals-by-hand.sh ENVFILE DIR CORES: one package of bench/externals built by hand, outside
# the store, with the host's compiler, make and CMake: the derivation's source tarball (in the
# store) unpacked in DIR and configured, built, tested (if the derivation runs its tests) and
# installed in DIR/prefix with the derivation's flags and phase code, as its recipe reads, and
# with CORES jobs (the cores the store gives each build).
#
# ENVFILE sets the derivation's variables (src, patches, configureFlags, cmakeFlags, makeFlags,
# doCheck, the phases and hooks it gives, ...): bench/externals.ts writes it from the .drv. The
# store's builder (src/expr/setup.sh) does more around each phase: PATH, the compiler wrapper, the
# sandbox, the fixup (#! lines, stripping, the check for the build directory); none of it here.
#
# Prints `by-hand PHASE START END` (seconds since the epoch) for each phase on stdout; the build's
# output goes to DIR/log.
set -e
envfile=$1 dir=$2 cores=$3
[ -n "$envfile" ] && [ -n "$dir" ] && [ -n "$cores" ] || { echo "usage: $0 ENVFILE DIR CORES" >&2; exit 2; }
mkdir -p "$dir/tmp"
cd "$dir"
exec 3>&1 > "$dir/log" 2>&1

# shellcheck disable=SC1090
. "$envfile"
out=$dir/prefix
export out TMPDIR=$dir/tmp HEPSTORE_BUILD_CORES=$cores

# The packages it links (the store's builds of them): the host compiler, pkg-config and CMake find
# them as a person building against an installation in a prefix would tell them to.
for p in $buildInputs; do
  [ -d "$p/include" ] && CPATH="${CPATH:+$CPATH:}$p/include"
  if [ -d "$p/lib" ]; then
    LIBRARY_PATH="${LIBRARY_PATH:+$LIBRARY_PATH:}$p/lib"
    LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$p/lib"
  fi
  for d in "$p/lib/pkgconfig" "$p/share/pkgconfig"; do [ -d "$d" ] && PKG_CONFIG_PATH="${PKG_CONFIG_PATH:+$PKG_CONFIG_PATH:}$d"; done
  CMAKE_PREFIX_PATH="${CMAKE_PREFIX_PATH:+$CMAKE_PREFIX_PATH:}$p"
done
export CPATH LIBRARY_PATH LD_LIBRARY_PATH PKG_CONFIG_PATH CMAKE_PREFIX_PATH

# The host runs #! lines as they are.
patchShebangs() { :; }

jobs() { if [ -n "$enableParallelBuilding" ]; then echo "-j$cores"; else echo -j1; fi; }
usesCmake() {
  local p
  [ -f "${cmakeDir:-.}/CMakeLists.txt" ] || return 1
  for p in $nativeBuildInputs; do [ -e "$p/bin/cmake" ] && return 0; done
  return 1
}

# The same tree as the store's: the tarball's one top-level directory is source/.
unpack() {
  mkdir source
  tar -xf "$src" -C source
  set -- source/*
  if [ $# -eq 1 ] && [ -d "$1" ]; then mv "$1" source.tmp && rmdir source && mv source.tmp source; fi
  cd source
}
patch_() {
  local p
  for p in $patches; do
    case "$p" in
      *.gz) gzip -dc "$p" ;;
      *.bz2) bzip2 -dc "$p" ;;
      *.xz) xz -dc "$p" ;;
      *) cat "$p" ;;
    esac | patch ${patchFlags:--p1}
  done
}
configure() {
  if [ -z "$dontUseCmakeConfigure" ] && usesCmake; then
    cmakeBuild=1
    local s
    s=$(cd "${cmakeDir:-.}" && pwd)
    mkdir -p build
    cd build
    # MEMORYCHECK_COMMAND empty: a test suite that finds the host's valgrind (which the store's
    # build does not see) runs every test a second time under it (HepMC3: 14 tests, 80 s more).
    cmake "$s" -DCMAKE_INSTALL_PREFIX="$out" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_LIBDIR=lib -DMEMORYCHECK_COMMAND= $cmakeFlags
  elif [ -x ./configure ]; then
    ./configure --prefix="$out" $configureFlags
  fi
}
build() { if [ -f Makefile ] || [ -f makefile ]; then make $(jobs) $makeFlags $buildFlags; fi; }
check() {
  if [ -n "$cmakeBuild" ] && [ -f CTestTestfile.cmake ]; then
    ctest --output-on-failure $(jobs) $checkFlags
  elif [ -f Makefile ] || [ -f makefile ]; then
    make $(jobs) $makeFlags ${checkTarget:-check} $checkFlags
  fi
}
install_() { if [ -f Makefile ] || [ -f makefile ]; then make $makeFlags install $installFlags; else mkdir -p "$out"; fi; }

# A phase: pre<Phase>, the derivation's <phase>Phase or the default above, post<Phase>.
run() {
  local name=$1 default=$2 code hook Name t0
  Name=$(echo "$name" | sed 's/./\U&/')
  t0=$(date +%s.%N)
  eval "hook=\${pre$Name-}"
  if [ -n "$hook" ]; then eval "$hook"; fi
  eval "code=\${${name}Phase-}"
  if [ -n "$code" ]; then eval "$code"; else "$default"; fi
  eval "hook=\${post$Name-}"
  if [ -n "$hook" ]; then eval "$hook"; fi
  echo "by-hand $name $t0 $(date +%s.%N)" >&3
}

run unpack unpack
run patch patch_
run configure configure
run build build
if [ -n "$doCheck" ]; then run check check; fi
run install install_
