#!@shell@
# ld: binutils' ld.bfd linking with the store's C library (made by the store's compiler wrapper,
# src/expr/cc-wrapper/), run by the compiler (through -B) or on its own.
#
# - the dynamic loader that a program names is the store's (the compiler asks for the host's,
#   /lib64/ld-linux-x86-64.so.2, with -dynamic-linker);
# - the build inputs' library directories (HEPSTORE_CC_LIBDIRS) are searched after the ones given;
# - the run path lists, in order of first use, the directory of each shared library the link
#   takes with -l or by file name: for the toolchain's own (libc, libm, libstdc++, libgcc_s, …)
#   the store path of the runtime package that holds it (never the compiler's), for any other
#   the store directory it was found in; so a program finds every library in the store and
#   keeps in its closure only the packages it links;
# - --sysroot: the linker's default search directories are the toolchain's sysroot, and the C
#   library's linker scripts (libc.so, libm.so) resolve their absolute names inside it.
sysroot=@sysroot@
store=@storeDir@
loader=@loader@

args=()
ldirs=()
libs=()
files=()
shared=0
relocatable=0
static=0
while [ $# -gt 0 ]; do
  a=$1
  shift
  case "$a" in
    -dynamic-linker | --dynamic-linker | -I)
      shift
      args+=(-dynamic-linker "$loader")
      continue
      ;;
    -dynamic-linker=* | --dynamic-linker=*) args+=(-dynamic-linker "$loader"); continue ;;
    -o | -plugin | -soname | -h | -T | --version-script | -rpath | -rpath-link | -Map | -e | --entry)
      args+=("$a" "$1")
      shift
      continue
      ;;
    -L) ldirs+=("$1") ;;
    -L*) ldirs+=("${a#-L}") ;;
    -l) libs+=("$1") ;;
    -l*) libs+=("${a#-l}") ;;
    -shared | -Bshareable) shared=1 ;;
    -r | -i | --relocatable | -Ur) relocatable=1 ;;
    -static | -Bstatic | -dn | -non_shared) [ "$a" = -static ] && static=1 ;;
    -*) ;;
    *.so | *.so.*) files+=("$a") ;;
  esac
  args+=("$a")
done

for d in $HEPSTORE_CC_LIBDIRS; do
  args+=("-L$d")
  ldirs+=("$d")
done

rpath=()
add_rpath() {
  local r
  for r in "${rpath[@]}"; do [ "$r" = "$1" ] && return; done
  rpath+=("$1")
}
# The libraries that a store library itself needs (DT_NEEDED), found through its run path, to
# the end of the chain: the linker would look for them in that run path prefixed by the sysroot,
# where they are not, so each such directory is given to it as -rpath-link (taken as it is; it
# changes nothing in the output).
rlink=()
declare -A followed
follow() {
  local f=$1 line rp= d n
  local needed=() dirs=()
  [ -n "${followed[$f]}" ] && return
  followed[$f]=1
  while read -r line; do
    case "$line" in
      *"(RUNPATH)"* | *"(RPATH)"*) rp=${line##*[}; rp=${rp%]} ;;
      *"(NEEDED)"*) n=${line##*[}; needed+=("${n%]}") ;;
    esac
  done < <(@readelf@ -d "$f" 2> /dev/null)
  IFS=: read -ra dirs <<< "$rp"
  for d in "${dirs[@]}"; do
    case "$d" in "$store"/*) ;; *) continue ;; esac
    case " ${rlink[*]} " in *" $d "*) ;; *) rlink+=("$d") ;; esac
    for n in "${needed[@]}"; do [ -e "$d/$n" ] && follow "$d/$n"; done
  done
  return 0
}

# The toolchain's libraries: name, and the directory of the package that holds it at run time.
declare -A runtime
while read -r name dir; do runtime[$name]=$dir; done < @runtimeDirs@

if [ "$relocatable" = 0 ] && [ "$static" = 0 ]; then
  search=("${ldirs[@]}" "$sysroot/lib/x86_64-linux-gnu" "$sysroot/usr/lib/x86_64-linux-gnu")
  for l in "${libs[@]}"; do
    case "$l" in :*) continue ;; esac
    for d in "${search[@]}"; do
      if [ -e "$d/lib$l.so" ]; then
        case "$d" in
          "$sysroot"/* | @gcclib@) [ -n "${runtime[$l]}" ] && add_rpath "${runtime[$l]}" ;;
          "$store"/*) add_rpath "$d"; follow "$d/lib$l.so" ;;
        esac
        break
      fi
      [ -e "$d/lib$l.a" ] && break
    done
  done
  for f in "${files[@]}"; do
    case "$f" in
      @self@/*) ;;
      "$store"/*) add_rpath "${f%/*}"; follow "$f" ;;
    esac
  done
fi
for r in "${rpath[@]}"; do args+=(-rpath "$r"); done
for r in "${rlink[@]}"; do args+=(-rpath-link "$r"); done
exec @ld@ --sysroot="$sysroot" "${args[@]}"
