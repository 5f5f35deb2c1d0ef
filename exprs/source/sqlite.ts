/**
 * SQLite built from source: Debian's upstream tarball, which is SQLite's full source tree (not
 * the amalgamation), with autotools' configure, make and make install: libsqlite3 (shared),
 * sqlite3.h, sqlite3.pc and the sqlite3 shell, with FTS4, FTS5 and R*Tree, linked with zlib
 * (the shell's sqlar and zipfile functions). No readline/editline (the store has neither), no
 * Tcl extension. The full tree generates its sources (the amalgamation sqlite3.c, sqlite3.h,
 * opcodes, shell.c) with Tcl scripts: tclsh is Debian's tcl8.6 relocated into the store
 * (cmssw/sets/tcl-build.ts), a build tool only; nothing installed refers to it.
 * SQLite's own test suite is Tcl too (testfixture, SQLite built into a Tcl interpreter with
 * Tcl's headers and library): it is not run. The check phase instead runs an SQL smoke test with
 * the built shell: a table filled by a recursive CTE, an aggregate, a join, an index, a
 * transaction rolled back, JSON, FTS5, R*Tree and zlib (sqlar_compress/sqlar_uncompress), each
 * result compared with the expected one.
 *
 *   store realize exprs/source/sqlite.ts
 */
import { mkDerivation, fetchDebianSource, type Drv } from 'hepstore';
import { debianPackages } from '../debian/lib.ts';
import tclSet from '../cmssw/sets/tcl-build.ts';
import { zlib } from './zlib.ts';

export const src = fetchDebianSource({
  source: 'sqlite3',
  version: '3.40.1-2+deb12u2',
  file: 'sqlite3_3.40.1.orig.tar.xz',
  sha256: 'aaa776260ab4dc976db34aa7891819484c8676b5b2783123ebc6301e2ca5d655',
});

/** The check phase's SQL and the output it must print. */
const SMOKE_SQL = `
CREATE TABLE t(i INTEGER PRIMARY KEY, sq INTEGER, name TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) INSERT INTO t SELECT i, i * i, 'row' || i FROM n;
CREATE INDEX t_sq ON t(sq);
SELECT count(*), sum(i), max(sq) FROM t;
SELECT name FROM t WHERE sq = 490000;
BEGIN; DELETE FROM t; ROLLBACK;
SELECT count(*) FROM t JOIN t AS u ON u.i = t.i + 1;
SELECT json_extract('{"a":[1,2,{"b":"x"}]}', '$.a[2].b'), json_array_length('[1,2,3]');
CREATE VIRTUAL TABLE docs USING fts5(body);
INSERT INTO docs VALUES ('jets from quarks and gluons'), ('muons in the endcap'), ('quark gluon plasma');
SELECT count(*) FROM docs WHERE docs MATCH 'gluon*';
CREATE VIRTUAL TABLE boxes USING rtree(id, x0, x1, y0, y1);
INSERT INTO boxes VALUES (1, 0, 10, 0, 10), (2, 5, 15, 5, 15), (3, 20, 30, 20, 30);
SELECT group_concat(id) FROM boxes WHERE x1 >= 6 AND x0 <= 9 AND y1 >= 6 AND y0 <= 9;
SELECT length(sqlar_compress(zeroblob(10000))) < 200, length(sqlar_uncompress(sqlar_compress(zeroblob(10000)), 10000));
PRAGMA integrity_check;
`;
const SMOKE_EXPECTED = [
  '1000|500500|1000000',
  'row700',
  '999',
  'x|3',
  '2',
  '1,2',
  '1|10000',
  'ok',
].join('\n');

/** Built with the packages it links (`buildInputs`; cmsdist's recipe: zlib). */
export function makeSqlite(opts: { buildInputs?: Drv[] } = {}) {
  const tcl = debianPackages(tclSet);
  return mkDerivation({
    buildInputs: opts.buildInputs ?? [],
    pname: 'sqlite',
    version: '3.40.1',
    src,
    nativeBuildInputs: [tcl['tcl8.6']],
    configureFlags: [
      '--disable-static', '--disable-tcl', '--disable-readline', '--disable-editline',
      '--enable-threadsafe', '--enable-fts4', '--enable-fts5', '--enable-rtree',
    ],
    // tclsh finds its library (init.tcl) in libtcl8.6's store path.
    env: {
      TCL_LIBRARY: `${tcl['libtcl8.6']}/share/tcltk/tcl8.6`,
      // and its modules (msgcat), which Debian keeps below its library, not where tclsh would look.
      TCL8_6_TM_PATH: `${tcl['libtcl8.6']}/share/tcltk/tcl8.6/tcl8`,
      smokeSql: SMOKE_SQL, smokeExpected: SMOKE_EXPECTED },
    doCheck: true,
    checkPhase: [
      'printf "%s" "$smokeSql" | ./sqlite3 smoke.db > smoke.out',
      'printf "%s\\n" "$smokeExpected" > smoke.expected',
      'diff -u smoke.expected smoke.out',
      'echo "sqlite: SQL smoke test passed ($(wc -l < smoke.expected) results)"',
    ].join('\n'),
  });
}

export const sqlite = makeSqlite({ buildInputs: [zlib] });

export default sqlite;
