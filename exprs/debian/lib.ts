/**
 * Debian packages as derivations: the pinned sets of exprs/debian/sets/ are read by
 * `debianPackages` (fixed-output fetches of the .deb files, unpacked and relocated into the
 * store by the bootstrap's tools; see the README). It lives in "hepstore" itself, where the
 * stdenv is made from a pinned set too; this module is where the sets take it from.
 */
export { debianPackages, fetchDeb, storeVersion, closureNames, type Pin, type PinnedSet, type DebianPackagesOptions } from 'hepstore';
