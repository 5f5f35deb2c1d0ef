#!@shell@
# @name@: @prog@ run so that it finds its programs, headers and libraries in the store and
# nothing of the host (made by the store's compiler wrapper, src/expr/cc-wrapper/).
#
# - -B: cc1, cc1plus, collect2, as, ld (the ld wrapper), crtbegin.o, libgcc and libstdc++ from
#   the toolchain's gcc directory, whatever the compiler's own prefix is;
# - --sysroot: the C library's crt files, libraries and linker scripts, and the linker's default
#   search directories, in the toolchain's sysroot (never the host's /usr/lib or /lib);
# - -nostdinc, then every header directory explicitly: the C++ library's (C++ only), the
#   compiler's, the build inputs' (HEPSTORE_CC_INCLUDE), and the C library's and the kernel's
#   last (-idirafter), in the order the compiler's own search list has them;
# - -frandom-seed from the output path and the build directory mapped to /build, so that the
#   same sources give the same bytes wherever and whenever they are built.
cxx=@cxx@
next_lang=0
for a in "$@"; do
  if [ "$next_lang" = 1 ]; then
    case "$a" in c++*) cxx=1 ;; esac
    next_lang=0
    continue
  fi
  case "$a" in
    -x) next_lang=1 ;;
    -xc++*) cxx=1 ;;
    -*) ;;
    *.cc | *.cp | *.cxx | *.cpp | *.CPP | *.c++ | *.C | *.ii | *.hh | *.hpp | *.hxx | *.h++ | *.HPP | *.tcc) cxx=1 ;;
  esac
done

# `cc -v` alone prints the version: nothing to add (the flags would make it look for inputs).
if [ $# -eq 0 ] || [ "$*" = -v ]; then exec @prog@ "$@"; fi

flags=(-B@gcclib@/ --sysroot=@sysroot@ -nostdinc)
if [ "$cxx" = 1 ]; then flags+=(-isystem @cxxinclude@ -isystem @cxxarchinclude@ -isystem @cxxinclude@/backward); fi
flags+=(-isystem @gcclib@/include)
for d in $HEPSTORE_CC_INCLUDE; do flags+=(-isystem "$d"); done
flags+=(-idirafter @sysroot@/usr/include/x86_64-linux-gnu -idirafter @sysroot@/usr/include)
if [ -n "$out" ]; then
  seed=${out##*/}
  flags+=("-frandom-seed=${seed%%-*}")
fi
if [ -n "$HEPSTORE_BUILD_TOP" ]; then flags+=("-ffile-prefix-map=$HEPSTORE_BUILD_TOP=/build"); fi
exec @prog@ "${flags[@]}" "$@"
