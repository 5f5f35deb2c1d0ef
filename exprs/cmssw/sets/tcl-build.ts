// Generated from apt's metadata by:
//   npm run exprs:debian -- -o exprs/cmssw/sets/tcl-build.ts --without libc6-dev --types-from ../../debian/lib.ts tcl8.6
// Do not edit: regenerate. 7 packages, 4.4 MB of .deb files.
import type { PinnedSet } from '../../debian/lib.ts';

export default {
  command: "npm run exprs:debian -- -o exprs/cmssw/sets/tcl-build.ts --without libc6-dev --types-from ../../debian/lib.ts tcl8.6",
  arch: "amd64",
  roots: ["tcl8.6"],
  without: ["libc6-dev"],
  cycles: [["libc6", "libgcc-s1"]],
  packages: {
    "gcc-12-base": { version: "12.2.0-14+deb12u1", arch: "amd64", filename: "pool/main/g/gcc-12/gcc-12-base_12.2.0-14+deb12u1_amd64.deb", sha256: "1896a2aacf4ad681ff5eacc24a5b0ca4d5d9c9b9c9e4b6de5197bc1e116ea619", size: 37596, depends: [] },
    "libc6": { version: "2.36-9+deb12u14", arch: "amd64", filename: "pool/main/g/glibc/libc6_2.36-9+deb12u14_amd64.deb", sha256: "ba4f88f73dbc3ae9055f3c20f4523bfdbaf1ad13ff95e258924f77d20b4fbedf", size: 2759320, depends: ["libgcc-s1"] },
    "libgcc-s1": { version: "12.2.0-14+deb12u1", arch: "amd64", filename: "pool/main/g/gcc-12/libgcc-s1_12.2.0-14+deb12u1_amd64.deb", sha256: "3016e62cb4b7cd8038822870601f5ed131befe942774d0f745622cc77d8a88f7", size: 49856, depends: ["gcc-12-base", "libc6"] },
    "libtcl8.6": { version: "8.6.13+dfsg-2", arch: "amd64", filename: "pool/main/t/tcl8.6/libtcl8.6_8.6.13+dfsg-2_amd64.deb", sha256: "976c4235b816635e1756016f3adbabb634e8b97a9f6b97cf901be099e4fd2487", size: 1034548, depends: ["libc6", "tzdata", "zlib1g"] },
    "tcl8.6": { version: "8.6.13+dfsg-2", arch: "amd64", filename: "pool/main/t/tcl8.6/tcl8.6_8.6.13+dfsg-2_amd64.deb", sha256: "4d539bdd459ea9fd5be25bf46c3c928ae5eb9cfdb5a1bf7ca25cacc596327d9d", size: 120328, depends: ["libc6", "libtcl8.6"] },
    "tzdata": { version: "2026f-0+deb12u1", arch: "all", filename: "pool/updates/main/t/tzdata/tzdata_2026f-0+deb12u1_all.deb", sha256: "3254eb870c8a949518214805aee5e4276af7699988ea8b9a3a583cd0f1eab31c", size: 307832, depends: [] },
    "zlib1g": { version: "1:1.2.13.dfsg-1+deb12u1", arch: "amd64", filename: "pool/updates/main/z/zlib/zlib1g_1.2.13.dfsg-1+deb12u1_amd64.deb", sha256: "ad9f1ea0537a32c9eaecc619563a9db596a5dee33afce8393b1083f22d301e1d", size: 86880, depends: ["libc6"] },
  },
} satisfies PinnedSet & { without: string[] };
