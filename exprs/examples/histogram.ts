/**
 * A small analysis pipeline, end to end: a dataset brought into the store by content, a
 * selection that fills a histogram, and a report, each step a derivation. Changing the data,
 * the selection or the cut gives new store paths; everything else is reused.
 *
 *   store realize exprs/examples/histogram.ts
 */
import { mkDerivation, path, stdenvNoCC } from 'hepstore';

const events = path('./histogram/events.csv');
const selection = path('./histogram/fill.awk');

/** The dimuon-mass histogram after the selection, as text. */
export const histogram = mkDerivation({
  stdenv: stdenvNoCC, // awk only: no compiler in its closure
  pname: 'zmumu-histogram',
  version: '1.0',
  env: { events, selection, ptcut: 20 },
  phases: ['install'],
  installPhase: `
    mkdir -p $out/share
    awk -v ptcut="$ptcut" -f "$selection" "$events" > $out/share/mass.hist
  `,
});

/** A report with the peak bin, next to the histogram it summarises. */
export const report = mkDerivation({
  stdenv: stdenvNoCC,
  pname: 'zmumu-report',
  version: '1.0',
  env: { histogram },
  phases: ['install'],
  installPhase: `
    mkdir -p $out/share
    awk '!/^#/ && $3 > max { max = $3; lo = $1; hi = $2 } END { printf "peak: %g-%g GeV with %d events\\n", lo, hi, max }' \
      "$histogram/share/mass.hist" > $out/share/report.txt
    ln -s "$histogram/share/mass.hist" $out/share/mass.hist
  `,
});

export default report;
