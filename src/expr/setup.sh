# The generic builder of mkDerivation: runs the phases of a package in order.
# Each phase is the shell code in the variable <phase>Phase, or the default below.
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
defaultConfigurePhase() { if [ -x ./configure ]; then ./configure --prefix="$out"; fi; }
defaultBuildPhase() { if [ -f Makefile ] || [ -f makefile ]; then make; fi; }
defaultCheckPhase() { if [ -f Makefile ]; then make check; fi; }
defaultInstallPhase() { if [ -f Makefile ]; then make install; else mkdir -p "$out"; fi; }

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

# GNU make runs recipes with /bin/sh unless told otherwise; sub-makes inherit SHELL from here.
_stdenvSh=$(command -v sh || true)
if [ -n "$_stdenvSh" ] && [ "$_stdenvSh" != /bin/sh ]; then
  make() { command make SHELL="$_stdenvSh" "$@"; }
  export -f make
  export _stdenvSh
fi

runPhase() {
  _name=$1
  eval "_code=\${${_name}Phase-}"
  echo "hepstore: running ${_name} phase"
  if [ -n "$_code" ]; then eval "$_code"; else "default$(echo "$_name" | sed 's/./\U&/')Phase"; fi
  if [ "$_name" = unpack ] && [ -n "$src" ] && [ -z "$dontPatchShebangs" ]; then patchShebangs .; fi
}

for _phase in ${phases:-unpack configure build check install}; do
  if [ "$_phase" = check ] && [ -z "$doCheck" ]; then continue; fi
  runPhase "$_phase"
done
