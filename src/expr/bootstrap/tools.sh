# Stage 1 of the bootstrap: the bootstrap tools, made runnable from the store.
#
# Run by the seed's static busybox (`busybox sh`), with nothing of the host: $seed is the data of
# pinned Debian packages unpacked unmodified (builtin:unpack-deb) — a C library, patchelf, node,
# tar and xz with the libraries they need. Their programs name the host's loader
# (/lib64/ld-linux-x86-64.so.2) and look for libraries in the host's directories, so none of them
# runs here yet, except through the seed's loader, which is how patchelf is run below.
#
# $out gets the seed with /usr merged into the top, absolute symlinks pointing into $out, and
# every ELF program and library naming $out's loader and $out's library directory: a set of
# tools that runs anywhere, from which the rest of the store is built (stage 2).
set -e
bb="$busybox"
lib="$out/lib/x86_64-linux-gnu"
seedlib="$seed/lib/x86_64-linux-gnu:$seed/usr/lib/x86_64-linux-gnu"
seedrun() { "$seed/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" --library-path "$seedlib" "$@"; }
patchelf() { seedrun "$seed/usr/bin/patchelf" "$@"; }

# /usr merged into the top: usr/bin and bin are both $out/bin (each file copied once; /usr's
# copy wins where both have one).
"$bb" mkdir -p "$out"
for e in "$seed"/*; do
  [ "${e##*/}" = usr ] || "$bb" cp -a "$e" "$out/"
done
"$bb" chmod -R u+w "$out"
if [ -d "$seed/usr" ]; then
  "$bb" cp -a "$seed/usr/." "$out/"
  "$bb" chmod -R u+w "$out"
fi

# Absolute symlinks point into $out (/usr/x and /x are both $out/x).
"$bb" find "$out" -type l | "$bb" sort | while read -r link; do
  target=$("$bb" readlink "$link")
  case "$target" in
    /usr/*) "$bb" ln -sfn "$out/${target#/usr/}" "$link" ;;
    /*) "$bb" ln -sfn "$out$target" "$link" ;;
  esac
done

# Programs and libraries: $out's loader, and $out's library directory as their run path (each
# object's own: a run path does not carry over to the libraries a program loads). The C
# library's gconv modules are left as they are: only a process whose C library is loaded
# already opens them, so they look nothing up. A dynamic program gets both in one patchelf run.
"$bb" find "$out/bin" "$out/sbin" "$out/lib" -type f \( -path "$out/bin/*" -o -path "$out/sbin/*" -o -name '*.so' -o -name '*.so.*' \) 2>/dev/null | "$bb" sort | while read -r f; do
  case "$f" in */ld-linux-x86-64.so.2 | */gconv/*) continue ;; esac
  [ "$("$bb" hexdump -n 4 -e '4/1 "%02x"' "$f")" = 7f454c46 ] || continue
  if patchelf --print-interpreter "$f" >/dev/null 2>&1; then
    patchelf --set-interpreter "$lib/ld-linux-x86-64.so.2" --set-rpath "$lib" "$f"
  elif [ -n "$(patchelf --print-needed "$f" 2>/dev/null)" ]; then
    patchelf --set-rpath "$lib" "$f"
  else
    continue
  fi
  echo "relocated ${f#$out/}"
done

# Debian's node reads some of its built-in modules from files whose absolute paths are compiled
# into libnode (/usr/share/nodejs/acorn/…); without them it does not start. Those paths become
# /proc/self/fd/9/./… (the same length), and bin/node opens $out/share/nodejs as descriptor 9
# before it runs node: node finds its modules in the store, wherever the store is.
LC_ALL=C seedrun "$seed/bin/sed" -z -i 's|/usr/share/nodejs/|/proc/self/fd/9/./|g' "$lib/libnode.so.108"
"$bb" mkdir -p "$out/libexec"
"$bb" mv "$out/bin/node" "$out/libexec/node"
printf '#!%s sh\nexec 9<"%s" && exec "%s" "$@"\n' "$out/bin/busybox" "$out/share/nodejs" "$out/libexec/node" > "$out/bin/node"
"$bb" chmod 555 "$out/bin/node"

# The tools run from here on; check the ones stage 2 uses.
"$out/bin/node" -e 'require("node:assert")(process.versions.node)'
"$out/bin/patchelf" --version
"$out/bin/tar" --version | "$bb" head -n 1
"$out/bin/xz" --version | "$bb" head -n 1
