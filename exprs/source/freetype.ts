/**
 * FreeType built from source: Debian's upstream tarball, with its configure (builds/unix/),
 * make and make install: libfreetype (shared), the headers in include/freetype2/ and
 * freetype2.pc (not the deprecated freetype-config script, off by default, which would keep
 * pkg-config in the package's closure), with zlib (gzip-compressed fonts), bzip2
 * (bzip2-compressed fonts) and libpng (PNG bitmaps in colour fonts), which cmsdist's recipe
 * requires; no HarfBuzz, Brotli or librsvg. pkg-config finds zlib and libpng; bzip2 has no
 * .pc file, so configure checks for -lbz2. FreeType's tarball has no test suite for this build
 * (its one test, under meson, needs a font downloaded at test time). The check phase instead
 * compiles and runs a program against the built library: it renders the glyph 'A' of a small
 * BDF font (written by the check phase) and compares its bitmap with the expected one, and
 * inflates zlib data with FT_Gzip_Uncompress; and it checks that the library links libz,
 * libbz2 and libpng16.
 *
 *   store realize exprs/source/freetype.ts
 */
import { mkDerivation, fetchDebianSource, buildTools, type Drv } from 'hepstore';
import { zlib } from './zlib.ts';
import { bzip2 } from './bzip2.ts';
import { libpng } from './libpng.ts';

export const src = fetchDebianSource({
  source: 'freetype',
  version: '2.12.1+dfsg-5+deb12u4',
  file: 'freetype_2.12.1+dfsg.orig.tar.xz',
  sha256: '7dedb6b9adf331559daea614a83b8de42a753e685ec8e1c4bdb4529eb880b0d1',
});

/** An 8x8 bitmap font with one glyph, 'A'. */
const BDF = `STARTFONT 2.1
FONT -hepstore-test-medium-r-normal--8-80-75-75-c-80-iso10646-1
SIZE 8 75 75
FONTBOUNDINGBOX 8 8 0 0
STARTPROPERTIES 2
FONT_ASCENT 8
FONT_DESCENT 0
ENDPROPERTIES
CHARS 1
STARTCHAR A
ENCODING 65
SWIDTH 500 0
DWIDTH 8 0
BBX 8 8 0 0
BITMAP
18
24
42
42
7E
42
42
00
ENDCHAR
ENDFONT
`;

/** The check phase's program: the font's 'A' rendered, and zlib data inflated, by FreeType. */
const FT_TEST = String.raw`#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_GZIP_H
#include <stdio.h>
#include <string.h>
#include <zlib.h>

static const unsigned char A[8] = { 0x18, 0x24, 0x42, 0x42, 0x7E, 0x42, 0x42, 0x00 };

int main(int argc, char **argv) {
  FT_Library lib;
  FT_Face face;
  FT_Int major, minor, patch;
  if (argc != 2 || FT_Init_FreeType(&lib)) return 1;
  FT_Library_Version(lib, &major, &minor, &patch);
  printf("FreeType %d.%d.%d\n", major, minor, patch);
  if (FT_New_Face(lib, argv[1], 0, &face)) return 2;
  if (FT_Select_Size(face, 0) || FT_Load_Char(face, 'A', FT_LOAD_RENDER | FT_LOAD_TARGET_MONO)) return 3;
  FT_Bitmap *b = &face->glyph->bitmap;
  printf("%s: glyph A %ux%u\n", face->family_name, b->width, b->rows);
  if (b->width != 8 || b->rows != 8 - 1 && b->rows != 8) return 4;
  for (unsigned r = 0; r < b->rows; r++) {
    unsigned char row = b->pixel_mode == FT_PIXEL_MODE_MONO ? b->buffer[r * b->pitch] : 0;
    for (unsigned c = 0; c < 8; c++) putchar(row & (0x80 >> c) ? '#' : '.');
    putchar('\n');
    if (row != A[r]) return 5;
  }

  char text[4096], back[4096];
  for (unsigned i = 0; i < sizeof text; i++) text[i] = "FreeType with zlib "[i % 19];
  unsigned char packed[4096];
  uLongf packedLen = sizeof packed;
  if (compress(packed, &packedLen, (const Bytef *)text, sizeof text) != Z_OK) return 6;
  FT_ULong backLen = sizeof back;
  if (FT_Gzip_Uncompress(face->memory, (FT_Byte *)back, &backLen, packed, packedLen) || backLen != sizeof text || memcmp(text, back, sizeof text)) return 7;
  printf("FT_Gzip_Uncompress: %lu bytes from %lu\n", (unsigned long)backLen, (unsigned long)packedLen);
  FT_Done_Face(face);
  FT_Done_FreeType(lib);
  printf("freetype: checks passed\n");
  return 0;
}
`;

/** Built with the packages it links (`buildInputs`; cmsdist's recipe: bz2lib, libpng, zlib). */
export function makeFreetype(opts: { buildInputs?: Drv[] } = {}) {
  return mkDerivation({
    buildInputs: opts.buildInputs ?? [],
    pname: 'freetype',
    version: '2.12.1',
    src,
    nativeBuildInputs: [buildTools.pkgconf],
    configureFlags: [
      '--disable-static',
      '--with-zlib=yes', '--with-bzip2=yes', '--with-png=yes',
      '--with-harfbuzz=no', '--with-brotli=no', '--with-librsvg=no',
    ],
    env: { testFont: BDF, ftTest: FT_TEST },
    doCheck: true,
    checkPhase: [
      'printf "%s" "$testFont" > test.bdf',
      'printf "%s" "$ftTest" > ft-test.c',
      'cc -O2 -Iobjs -Iinclude ft-test.c -Lobjs/.libs -lfreetype -lpng16 -lbz2 -lz -o ft-test',
      'LD_LIBRARY_PATH=$PWD/objs/.libs ./ft-test test.bdf',
      'for l in libz.so libbz2.so libpng16.so; do readelf -d objs/.libs/libfreetype.so | grep "NEEDED.*$l" || { echo "libfreetype does not link $l" >&2; exit 1; }; done',
    ].join('\n'),
  });
}

export const freetype = makeFreetype({ buildInputs: [bzip2, libpng, zlib] });

export default freetype;
