# Builder of the store's C/C++ toolchain: GCC, binutils and the C library, each a relocated
# Debian package, put together so that the compiler needs nothing of the host (as a cc-wrapper
# does). Run by the stdenv's bash with its coreutils, sed, grep and find on PATH.
#
# $out/lib/gcc/    the compiler's own directory (-B): cc1, cc1plus, collect2, lto-wrapper, crt
#                  objects, libgcc, libstdc++ and the compiler's headers (include/), gathered from
#                  gcc-12, cpp-12, g++-12, libgcc-12-dev and libstdc++-12-dev; `as` (binutils) and
#                  `ld` (the ld wrapper), which the compiler looks for here first
# $out/sysroot/    the C library as the compiler and the linker expect it (--sysroot):
#                  usr/include (libc6-dev, linux-libc-dev, libcrypt-dev), usr/lib/x86_64-linux-gnu
#                  (crt1.o, crti.o, static libraries, the .so links; the linker scripts libc.so and
#                  libm.so copied, so that their absolute names resolve inside the sysroot),
#                  lib/x86_64-linux-gnu and lib64 (libc6's libraries and loader)
# $out/bin/        cc, gcc, c++, g++, cpp and ld wrappers; binutils' other programs
# $out/lib/hepstore-cc/runtime-dirs   each toolchain library and the runtime package that holds it
set -e
arch=x86_64-linux-gnu
gcclib="$out/lib/gcc"
sysroot="$out/sysroot"
mkdir -p "$out/bin" "$gcclib" "$sysroot/usr/lib/$arch" "$sysroot/usr/include" "$sysroot/lib" "$out/lib/hepstore-cc"

# Where a library that a -dev package links to (libstdc++.so -> ../../../x86_64-linux-gnu/libstdc++.so.6,
# left dangling: Debian puts it in another package) is at run time.
find_runtime() {
  for p in $runtimeLibs; do
    if [ -e "$p/lib/$arch/$1" ]; then
      echo "$p/lib/$arch/$1"
      return 0
    fi
  done
  return 1
}

# Link every entry of $1 into $2; dangling relative links to a runtime library are pointed at it.
link_into() {
  for f in "$1"/* "$1"/.[!.]*; do
    [ -e "$f" ] || [ -L "$f" ] || continue
    name=${f##*/}
    if [ -e "$2/$name" ] || [ -L "$2/$name" ]; then
      echo "two files named $name in $2" >&2
      exit 1
    fi
    if [ -L "$f" ] && [ ! -e "$f" ]; then
      if target=$(find_runtime "$(basename "$(readlink "$f")")"); then
        ln -s "$target" "$2/$name"
      else
        echo "left out $f -> $(readlink "$f"): no runtime package of the toolchain has it"
      fi
      continue
    fi
    ln -s "$f" "$2/$name"
  done
}

for p in "$gcc" "$cpp" "$gxx" "$libgccDev" "$libstdcxxDev"; do
  link_into "$p/lib/gcc/$arch/12" "$gcclib"
done
ln -s "$binutils/bin/$arch-as" "$gcclib/as"
ln -s ../../bin/ld "$gcclib/ld"

# The sysroot's headers: the C library's, the kernel's and libcrypt's, merged as links.
for p in "$libcDev" "$linuxHeaders" "$libcryptDev"; do
  cp -rs "$p/include/." "$sysroot/usr/include/"
  find "$sysroot/usr/include" -type d -exec chmod u+w {} +
done
# Its libraries: links, except the linker scripts, which must be inside the sysroot.
for p in "$libcDev" "$libcryptDev"; do
  for f in "$p/lib/$arch"/*; do
    name=${f##*/}
    [ -d "$f" ] && continue
    if [ -f "$f" ] && head -c 200 "$f" | grep -q 'GNU ld script'; then
      cp "$f" "$sysroot/usr/lib/$arch/$name"
    else
      ln -s "$f" "$sysroot/usr/lib/$arch/$name"
    fi
  done
done
ln -s "$libc/lib/$arch" "$sysroot/lib/$arch"
mkdir -p "$sysroot/lib64"
ln -s "$libc/lib/$arch/ld-linux-x86-64.so.2" "$sysroot/lib64/ld-linux-x86-64.so.2"

# Each library the linker can take from the toolchain, and the directory of the runtime
# package that holds it: its real file's (the linker scripts libc.so, libm.so and libgcc_s.so
# name libraries of libc6, which is one store path with libgcc-s1).
for f in "$gcclib"/lib*.so "$sysroot/usr/lib/$arch"/lib*.so; do
  [ -e "$f" ] || continue
  name=${f##*/lib}
  name=${name%.so}
  real=$(readlink -f "$f")
  if head -c 200 "$real" | grep -q 'GNU ld script'; then
    echo "$name $libc/lib/$arch"
  else
    echo "$name ${real%/*}"
  fi
done | sort -u -k1,1 > "$out/lib/hepstore-cc/runtime-dirs"

subst() {
  sed -e "s|@shell@|$shell|g" -e "s|@gcclib@|$gcclib|g" -e "s|@sysroot@|$sysroot|g" \
    -e "s|@cxxinclude@|$libstdcxxDev/include/c++/12|g" -e "s|@cxxarchinclude@|$libstdcxxDev/include/$arch/c++/12|g" \
    -e "s|@storeDir@|${out%/*}|g" -e "s|@self@|$out|g" -e "s|@loader@|$libc/lib/$arch/ld-linux-x86-64.so.2|g" \
    -e "s|@ld@|$binutils/bin/$arch-ld.bfd|g" -e "s|@readelf@|$binutils/bin/$arch-readelf|g" -e "s|@runtimeDirs@|$out/lib/hepstore-cc/runtime-dirs|g" \
    "$@"
}
wrap() { # name prog cxx
  subst -e "s|@name@|$1|g" -e "s|@prog@|$2|g" -e "s|@cxx@|$3|g" "$ccWrapper" > "$out/bin/$1"
  chmod 555 "$out/bin/$1"
}
wrap cc "$gcc/bin/$arch-gcc-12" 0
wrap gcc "$gcc/bin/$arch-gcc-12" 0
wrap c++ "$gxx/bin/$arch-g++-12" 1
wrap g++ "$gxx/bin/$arch-g++-12" 1
wrap cpp "$cpp/bin/$arch-cpp-12" 0
subst "$ldWrapper" > "$out/bin/ld"
chmod 555 "$out/bin/ld"
# binutils' other programs as they are (ar and ranlib write deterministic archives by default).
for t in ar as nm ranlib strip objdump objcopy readelf size strings addr2line c++filt elfedit; do
  ln -s "$binutils/bin/$arch-$t" "$out/bin/$t"
done

# The toolchain runs: the compiler's own view of its programs and libraries.
"$out/bin/cc" -print-prog-name=cc1
"$out/bin/cc" -print-file-name=libc.so
"$out/bin/c++" -print-file-name=libstdc++.so
