/**
 * libffi built from source: Debian's upstream tarball, with autotools' configure, make and make
 * install: the shared library, ffi.h and ffitarget.h in include/, libffi.pc; no static library,
 * no documentation (its Texinfo manual needs makeinfo, which the store lacks), libraries in lib/
 * (not in the lib64/ that gcc's multi-os directory would name). CFLAGS are given (-O2), as
 * without them configure picks its own (AX_CC_MAXOPT: -O3 -ffast-math and -march/-mtune for
 * the CPU it runs on, so that the library would depend on the build machine).
 * libffi's own test suite (`make check`) runs under DejaGnu (runtest, expect, Tcl), which the
 * store does not have; the check phase instead compiles and runs a small program against the
 * built library: ffi_call of a function taking an int, a double and a pointer and returning a
 * double, of one returning a struct by value, and a closure (ffi_closure_alloc,
 * ffi_prep_closure_loc) called as a plain C function pointer.
 *
 *   store realize exprs/source/libffi.ts
 */
import { mkDerivation, fetchDebianSource, type Drv } from 'hepstore';

export const src = fetchDebianSource({
  source: 'libffi',
  version: '3.4.4-1',
  file: 'libffi_3.4.4.orig.tar.gz',
  sha256: 'd66c56ad259a82cf2a9dfc408b32bf5da52371500b84745f7fb8b645712df676',
});

/** The check phase's program: exits non-zero and says why when a call returns a wrong value. */
const FFI_TEST = String.raw`#include <ffi.h>
#include <stdio.h>
#include <string.h>

static double mix(int i, double d, const char *s) { return i * d + (double)strlen(s); }

struct pair { long a; double b; };
static struct pair make_pair(long a, double b) { struct pair p = { a * 2, b / 2 }; return p; }

static void add_handler(ffi_cif *cif, void *ret, void **args, void *data) {
  (void)cif;
  *(ffi_arg *)ret = *(int *)args[0] + *(int *)args[1] + *(int *)data;
}

int main(void) {
  ffi_cif cif;
  ffi_type *args[3] = { &ffi_type_sint, &ffi_type_double, &ffi_type_pointer };
  int i = 3; double d = 1.5; const char *s = "abcd"; double r = 0;
  void *values[3] = { &i, &d, &s };
  if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 3, &ffi_type_double, args) != FFI_OK) return 1;
  ffi_call(&cif, FFI_FN(mix), &r, values);
  printf("mix(3, 1.5, \"abcd\") = %g\n", r);
  if (r != 8.5) return 2;

  ffi_type *elements[3] = { &ffi_type_slong, &ffi_type_double, NULL };
  ffi_type pair_type = { 0, 0, FFI_TYPE_STRUCT, elements };
  ffi_type *pargs[2] = { &ffi_type_slong, &ffi_type_double };
  long a = 21; double b = 5; struct pair p;
  void *pvalues[2] = { &a, &b };
  if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &pair_type, pargs) != FFI_OK) return 3;
  ffi_call(&cif, FFI_FN(make_pair), &p, pvalues);
  printf("make_pair(21, 5) = { %ld, %g }\n", p.a, p.b);
  if (p.a != 42 || p.b != 2.5) return 4;

  void *code;
  ffi_closure *closure = ffi_closure_alloc(sizeof(ffi_closure), &code);
  ffi_type *cargs[2] = { &ffi_type_sint, &ffi_type_sint };
  int bias = 100;
  if (!closure) return 5;
  if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_sint, cargs) != FFI_OK) return 6;
  if (ffi_prep_closure_loc(closure, &cif, add_handler, &bias, code) != FFI_OK) return 7;
  int sum = ((int (*)(int, int))code)(20, 22);
  printf("closure(20, 22) = %d\n", sum);
  ffi_closure_free(closure);
  if (sum != 142) return 8;
  printf("libffi: 3 calls passed\n");
  return 0;
}
`;

/** Built with the packages it links (`buildInputs`). */
export function makeLibffi(opts: { buildInputs?: Drv[] } = {}) {
  return mkDerivation({
    buildInputs: opts.buildInputs ?? [],
    pname: 'libffi',
    version: '3.4.4',
    src,
    configureFlags: ['--disable-static', '--disable-docs', '--disable-multi-os-directory'],
    doCheck: true,
    env: { CFLAGS: '-O2', ffiTest: FFI_TEST },
    checkPhase: [
      'printf "%s" "$ffiTest" > ffi-test.c',
      // configure builds in a directory named after the target (x86_64-pc-linux-gnu/).
      'b=$(dirname "$(find . -path "*/include/ffi.h" | head -1)")/..',
      'cc -O2 -I$b/include ffi-test.c -L$b/.libs -lffi -o ffi-test',
      'LD_LIBRARY_PATH=$b/.libs ./ffi-test',
    ].join('\n'),
  });
}

export const libffi = makeLibffi();

export default libffi;
