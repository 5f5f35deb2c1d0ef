/**
 * GoogleTest's sources (Debian's upstream tarball), for the test suites of packages whose Debian
 * tarballs leave out the copy of GoogleTest they bundle (fmt, yaml-cpp): built inside their
 * builds, for their tests only, never installed.
 */
import { fetchDebianSource } from 'hepstore';

export const src = fetchDebianSource({
  source: 'googletest',
  version: '1.12.1-0.2',
  file: 'googletest_1.12.1.orig.tar.gz',
  sha256: '81964fe578e9bd7c94dfdb09c8e4d6e6759e19967e397dbea48d1c10e45d0df2',
});

/** The directory the tarball unpacks into. */
export const dir = 'googletest-release-1.12.1';

export default src;
