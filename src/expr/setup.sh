# The generic builder of mkDerivation: runs the phases of a package in order.
# Each phase (unpack patch configure build check install fixup) is the shell code in the
# variable <phase>Phase, or the default below; pre<Phase> and post<Phase> run around it.
set -e

# PATH: the inputs' bin/ directories, then host tools the package asked for (as name=/host/path
# pairs, linked into one directory), then the stdenv's utilities.
PATH="${stdenvPath:-/path-not-set}"
if [ -n "$hostToolPaths" ]; then
  _mkdir=mkdir _ln=ln
  for t in $hostToolPaths; do
    case "$t" in mkdir=*) _mkdir=${t#*=} ;; ln=*) _ln=${t#*=} ;; esac
  done
  _hostbin="$TMPDIR/.host-bin"
  "$_mkdir" -p "$_hostbin"
  for t in $hostToolPaths; do "$_ln" -sf "${t#*=}" "$_hostbin/${t%%=*}"; done
  PATH="$_hostbin:$PATH"
fi
for p in $nativeBuildInputs $buildInputs; do
  if [ -d "$p/bin" ]; then PATH="$p/bin:$PATH"; fi
done
export PATH

# The inputs' headers and libraries, for the compiler wrapper (stdenv.cc): include/ directories
# become -isystem, lib/ directories -L and, for the libraries a program links, its run path.
HEPSTORE_CC_INCLUDE=
HEPSTORE_CC_LIBDIRS=
for p in $buildInputs $nativeBuildInputs; do
  if [ -d "$p/include" ]; then HEPSTORE_CC_INCLUDE="$HEPSTORE_CC_INCLUDE $p/include"; fi
  for l in "$p/lib" "$p/lib/x86_64-linux-gnu"; do
    if [ -d "$l" ]; then HEPSTORE_CC_LIBDIRS="$HEPSTORE_CC_LIBDIRS $l"; fi
  done
done
export HEPSTORE_CC_INCLUDE HEPSTORE_CC_LIBDIRS

# pkg-config and CMake find the inputs' packages: their pkgconfig/ directories, and the inputs
# themselves as CMake prefixes (lib/cmake/, share/cmake/, include/, lib/).
PKG_CONFIG_PATH=
CMAKE_PREFIX_PATH=
for p in $buildInputs $nativeBuildInputs; do
  for d in "$p/lib/pkgconfig" "$p/lib/x86_64-linux-gnu/pkgconfig" "$p/share/pkgconfig"; do
    if [ -d "$d" ]; then PKG_CONFIG_PATH="${PKG_CONFIG_PATH:+$PKG_CONFIG_PATH:}$d"; fi
  done
  if [ -d "$p" ]; then CMAKE_PREFIX_PATH="${CMAKE_PREFIX_PATH:+$CMAKE_PREFIX_PATH:}$p"; fi
done
export PKG_CONFIG_PATH CMAKE_PREFIX_PATH

# configure scripts and libtool run with the stdenv's shell (a hermetic build has no /bin/sh).
if command -v bash > /dev/null; then
  CONFIG_SHELL=$(command -v bash)
  SHELL=$CONFIG_SHELL
  export CONFIG_SHELL SHELL
fi

defaultUnpackPhase() {
  [ -n "$src" ] || return 0
  if [ -d "$src" ]; then
    cp -R "$src" source
    chmod -R u+w source
  else
    mkdir source
    case "$src" in
      *.tar.gz | *.tgz | *.tar.xz | *.tar.bz2 | *.tar) tar -xf "$src" -C source ;;
      *) cp "$src" source/ ;;
    esac
    # A tarball with one top-level directory unpacks into it.
    set -- source/*
    if [ $# -eq 1 ] && [ -d "$1" ]; then mv "$1" source.tmp && rmdir source && mv source.tmp source; fi
  fi
  cd source
}

# patches: applied in order with the stdenv's patch and $patchFlags (default -p1); compressed
# ones are decompressed first.
defaultPatchPhase() {
  local p
  for p in $patches; do
    echo "applying patch $p"
    case "$p" in
      *.gz) gzip -dc "$p" ;;
      *.bz2) bzip2 -dc "$p" ;;
      *.xz) xz -dc "$p" ;;
      *) cat "$p" ;;
    esac | patch ${patchFlags:--p1}
  done
}

# make -j: $HEPSTORE_BUILD_CORES jobs unless enableParallelBuilding is off.
_jobs() { if [ -n "$enableParallelBuilding" ]; then echo "-j${HEPSTORE_BUILD_CORES:-1}"; else echo -j1; fi; }

# CMake drives the build when it is among the inputs (its bin/cmake on PATH) and the source has a
# CMakeLists.txt; dontUseCmakeConfigure leaves it to the configure phase of the package.
_useCmake() { [ -z "$dontUseCmakeConfigure" ] && [ -f "${cmakeDir:-.}/CMakeLists.txt" ] && _inputHas bin/cmake; }
_inputHas() {
  local p
  for p in $nativeBuildInputs $buildInputs; do [ -e "$p/$1" ] && return 0; done
  return 1
}

defaultConfigurePhase() {
  if _useCmake; then
    _cmakeBuild=1
    local src_dir
    src_dir=$(cd "${cmakeDir:-.}" && pwd)
    mkdir -p build
    cd build
    # An out-of-tree build installed below $out: libraries in lib/ (not lib64/, which
    # GNUInstallDirs picks where /etc/debian_version is missing), installed programs and
    # libraries find $out/lib and the store libraries they were linked with (CMake would
    # otherwise replace the build's run path by $out/lib alone), nothing searched outside the
    # store (the host's prefixes and CMake's package registries are ignored).
    cmake "$src_dir" \
      -DCMAKE_INSTALL_PREFIX="$out" \
      -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_INSTALL_LIBDIR=lib \
      -DCMAKE_INSTALL_INCLUDEDIR=include \
      -DCMAKE_INSTALL_BINDIR=bin \
      -DCMAKE_INSTALL_RPATH="$out/lib" \
      -DCMAKE_INSTALL_RPATH_USE_LINK_PATH=ON \
      -DCMAKE_SYSTEM_IGNORE_PREFIX_PATH="/;/usr;/usr/local;/opt" \
      -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
      -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF \
      -DCMAKE_EXPORT_NO_PACKAGE_REGISTRY=ON \
      -DCMAKE_VERBOSE_MAKEFILE=ON \
      $cmakeFlags
  elif [ -x ./configure ]; then
    ./configure --prefix="$out" $configureFlags
  fi
}
defaultBuildPhase() { if [ -f Makefile ] || [ -f makefile ]; then make $(_jobs) $makeFlags $buildFlags; fi; }
defaultCheckPhase() {
  if [ -n "$_cmakeBuild" ] && [ -f CTestTestfile.cmake ]; then
    ctest --output-on-failure $(_jobs) $checkFlags
  elif [ -f Makefile ] || [ -f makefile ]; then
    make $(_jobs) $makeFlags ${checkTarget:-check} $checkFlags
  fi
}
defaultInstallPhase() { if [ -f Makefile ] || [ -f makefile ]; then make $makeFlags install $installFlags; else mkdir -p "$out"; fi; }

# The outputs made fit for the store: scripts' #! lines at programs in the store, libtool's .la
# files (which name the build's library directories) removed, debug sections stripped (they name
# the build directory), and then nothing that names the build directory may be left.
defaultFixupPhase() {
  local o dir files
  for o in ${hepstoreOutputs:-out}; do
    eval "dir=\${$o-}"
    [ -d "$dir" ] || continue
    if [ -z "$dontPatchShebangs" ]; then patchShebangs "$dir"; fi
    find "$dir" -name '*.la' -type f -delete
    if [ -z "$dontStrip" ] && command -v strip > /dev/null; then stripDebug "$dir"; fi
  done
  [ -z "$allowBuildReferences" ] || return 0
  for o in ${hepstoreOutputs:-out}; do
    eval "dir=\${$o-}"
    [ -e "$dir" ] || continue
    files=$(grep -rlF -- "$HEPSTORE_BUILD_TOP/" "$dir" || true)
    if [ -n "$files" ]; then
      echo "error: these files name the build directory $HEPSTORE_BUILD_TOP:" >&2
      echo "$files" | head -20 >&2
      exit 1
    fi
  done
}

# strip -S of every ELF file (programs, shared and static libraries, objects) below the directories.
stripDebug() {
  local f magic
  find "$@" -type f ! -type l -print0 | while IFS= read -r -d '' f; do
    magic=$(head -c 4 "$f" | tr -d '\000' | cut -c2-4)
    case "$f" in
      *.a) ;;
      *) [ "$magic" = ELF ] || continue ;;
    esac
    chmod u+w "$f"
    strip -S "$f" 2> /dev/null || true
  done
}

# A hermetic build has no /bin/sh, /bin/bash or /usr/bin/env: the #! lines of a source tree's
# scripts (./configure) are pointed at the programs of that name on PATH, as patchShebangs does.
patchShebangs() {
  local f line prog rest
  find "$@" -type f -perm -u+x -print0 | while IFS= read -r -d '' f; do
    IFS= read -r line < "$f" 2>/dev/null || continue
    case "$line" in '#!'*/*) ;; *) continue ;; esac
    line=${line#'#!'}
    line=${line# }
    prog=${line%% *}
    [ "$prog" = "$line" ] && rest= || rest=" ${line#* }"
    case "$prog" in /*) ;; *) continue ;; esac
    case "$prog" in "${out%/*}"/*) continue ;; esac
    if [ "${prog##*/}" = env ] && [ -n "$rest" ]; then
      set -- $rest
      prog=$1
      shift
      rest=${*:+ $*}
    fi
    prog=$(command -v "${prog##*/}") || continue
    sed -i "1s|^.*\$|#!$prog$rest|" "$f"
  done
}

# GNU make runs recipes with /bin/sh unless told otherwise: SHELL in MAKEFLAGS is a command-line
# variable to every make, sub-makes and those that other programs run (CMake's try_compile) too.
# CMake empties MAKEFLAGS for the make it runs (its compiler checks, and a CMake run by a
# package's tests), so `make` (and `gmake`, which CMake prefers) on PATH is a wrapper that names
# the stdenv's shell itself.
_stdenvSh=$(command -v sh || true)
if [ -n "$_stdenvSh" ] && [ "$_stdenvSh" != /bin/sh ]; then
  export MAKEFLAGS="SHELL=$_stdenvSh${MAKEFLAGS:+ $MAKEFLAGS}"
  if _make=$(command -v make); then
    mkdir -p "$TMPDIR/.hepstore-bin"
    for _m in make gmake; do
      printf '#!%s\nexec %s SHELL=%s "$@"\n' "$_stdenvSh" "$_make" "$_stdenvSh" > "$TMPDIR/.hepstore-bin/$_m"
      chmod +x "$TMPDIR/.hepstore-bin/$_m"
    done
    PATH="$TMPDIR/.hepstore-bin:$PATH"
  fi
fi

runPhase() {
  _name=$1
  eval "_code=\${${_name}Phase-}"
  _Name=$(echo "$_name" | sed 's/./\U&/')
  echo "hepstore: running ${_name} phase"
  eval "_hook=\${pre${_Name}-}"
  if [ -n "$_hook" ]; then eval "$_hook"; fi
  if [ -n "$_code" ]; then eval "$_code"; else "default${_Name}Phase"; fi
  if [ "$_name" = unpack ] && [ -n "$src" ] && [ -z "$dontPatchShebangs" ]; then patchShebangs .; fi
  eval "_hook=\${post${_Name}-}"
  if [ -n "$_hook" ]; then eval "$_hook"; fi
}

for _phase in ${phases:-unpack patch configure build check install fixup}; do
  if [ "$_phase" = check ] && [ -z "$doCheck" ]; then continue; fi
  runPhase "$_phase"
done
