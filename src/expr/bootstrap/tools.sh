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
seedld="$seed/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
seedrun() { "$seedld" --library-path "$seedlib" "$@"; }

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
# (All links' targets are read by one stat, as "'LINK' -> 'TARGET'".)
"$bb" find "$out" -type l -exec "$bb" stat -c '%N' {} + | "$bb" sort | while read -r line; do
  link=${line#\'}
  link=${link%%\' -> \'*}
  target=${line#*\' -> \'}
  target=${target%\'}
  case "$target" in
    /usr/*) "$bb" ln -sfn "$out/${target#/usr/}" "$link" ;;
    /*) "$bb" ln -sfn "$out$target" "$link" ;;
  esac
done

# Programs and libraries: $out's loader, and $out's library directory as their run path (each
# object's own: a run path does not carry over to the libraries a program loads). The C
# library's gconv modules are left as they are: only a process whose C library is loaded
# already opens them, so they look nothing up.
#
# Which files need what is read from their ELF program headers, without running anything but
# busybox: each candidate's first KiB, as numbers, goes to one awk, which names the ones with an
# interpreter (they get both) and the ones with only a dynamic section (they get the run path
# if they need any library: a second pass reads their dynamic section for a DT_NEEDED entry).
# patchelf then runs once per kind, on all the files of that kind.
elf_awk='
function u(o, k,   v, i) { v = 0; for (i = k - 1; i >= 0; i--) v = v * 256 + b[o + i]; return v }
function flush(   phoff, phent, phnum, i, o, t, interp, dyn) {
  if (file == "") return
  if (n >= 4 && b[0] == 127 && b[1] == 69 && b[2] == 76 && b[3] == 70) {
    if (n < 64 || b[4] != 2 || b[5] != 1) { print "unsupported " file; bad = 1 }
    else {
      phoff = u(32, 8); phent = u(54, 2); phnum = u(56, 2)
      if (phoff + phnum * phent > n) { print "unsupported " file; bad = 1 }
      else {
        for (i = 0; i < phnum; i++) {
          o = phoff + i * phent; t = u(o, 4)
          if (t == 3) interp = 1
          if (t == 2) dyn = u(o + 8, 8) " " u(o + 32, 8)
        }
        if (interp) print "interp - - " file
        else if (dyn != "") print "dynamic " dyn " " file
      }
    }
  }
  file = ""; n = 0
}
/^F / { flush(); file = substr($0, 3); next }
{ for (i = 1; i <= NF; i++) b[n++] = $i + 0 }
END { flush() }'
needed_awk='
/^F / { if (file != "" && needed) print file; file = substr($0, 3); needed = 0; n = 0; next }
{ for (i = 1; i <= NF; i++) { k = n % 16; if (k == 0) { tag = $i + 0; m = 256 } else if (k < 8) { tag += ($i + 0) * m; m *= 256 } if (k == 7 && tag == 1) needed = 1; n++ } }
END { if (file != "" && needed) print file }'
"$bb" find "$out/bin" "$out/sbin" "$out/lib" -type f \( -path "$out/bin/*" -o -path "$out/sbin/*" -o -name '*.so' -o -name '*.so.*' \) 2>/dev/null | "$bb" sort | while read -r f; do
  case "$f" in */ld-linux-x86-64.so.2 | */gconv/*) continue ;; esac
  echo "F $f"
  "$bb" od -A n -v -t u1 -N 1024 "$f"
done | "$bb" awk "$elf_awk" > "$TMPDIR/elves"
if "$bb" grep -q '^unsupported ' "$TMPDIR/elves"; then
  echo "not a 64-bit little-endian ELF file with its program headers in its first KiB:" >&2
  "$bb" sed -n 's/^unsupported //p' "$TMPDIR/elves" >&2
  exit 1
fi
"$bb" sed -n 's/^interp - - //p' "$TMPDIR/elves" > "$TMPDIR/programs"
"$bb" grep '^dynamic ' "$TMPDIR/elves" | while read -r kind off size f; do
  echo "F $f"
  "$bb" od -A n -v -t u1 -j "$off" -N "$size" "$f"
done | "$bb" awk "$needed_awk" > "$TMPDIR/libraries"
if [ -s "$TMPDIR/programs" ]; then
  "$bb" xargs -r "$seedld" --library-path "$seedlib" "$seed/usr/bin/patchelf" --set-interpreter "$lib/ld-linux-x86-64.so.2" --set-rpath "$lib" < "$TMPDIR/programs"
fi
if [ -s "$TMPDIR/libraries" ]; then
  "$bb" xargs -r "$seedld" --library-path "$seedlib" "$seed/usr/bin/patchelf" --set-rpath "$lib" < "$TMPDIR/libraries"
fi
"$bb" sort "$TMPDIR/programs" "$TMPDIR/libraries" | while read -r f; do echo "relocated ${f#$out/}"; done

# Debian's node reads some of its built-in modules from files whose absolute paths are compiled
# into libnode (/usr/share/nodejs/acorn/…); without them it does not start. Those paths become
# /proc/self/fd/9/./… (the same length), and bin/node opens $out/share/nodejs as descriptor 9
# before it runs node: node finds its modules in the store, wherever the store is.
LC_ALL=C seedrun "$seed/bin/sed" -z -i 's|/usr/share/nodejs/|/proc/self/fd/9/./|g' "$lib/libnode.so.108"
"$bb" mkdir -p "$out/libexec"
"$bb" mv "$out/bin/node" "$out/libexec/node"
# Debian's node reads the host's certificate bundle at start unless NODE_EXTRA_CA_CERTS is set
# (to nothing here: nothing of the host is read, and builds do not talk to the network).
printf '#!%s sh\nexport NODE_EXTRA_CA_CERTS=\nexec 9<"%s" && exec "%s" "$@"\n' "$out/bin/busybox" "$out/share/nodejs" "$out/libexec/node" > "$out/bin/node"
"$bb" chmod 555 "$out/bin/node"

# The tools run from here on; check the ones stage 2 uses.
"$out/bin/node" -e 'require("node:assert")(process.versions.node)'
"$out/bin/patchelf" --version
"$out/bin/tar" --version | "$bb" head -n 1
"$out/bin/xz" --version | "$bb" head -n 1
