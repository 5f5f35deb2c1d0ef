# Select events with two or more muons, a leading muon above the pt cut and inside the
# acceptance, and fill a dimuon-mass histogram (60-120 GeV, 2 GeV bins).
BEGIN { FS = ","; lo = 60; hi = 120; width = 2; nbins = (hi - lo) / width }
NR == 1 { next }
{
  total++
  if ($2 < 2 || $3 < ptcut || $4 < -2.4 || $4 > 2.4) next
  selected++
  if ($5 < lo || $5 >= hi) { overflow++; next }
  bin = int(($5 - lo) / width)
  counts[bin]++
}
END {
  printf "# events %d, selected %d, outside range %d\n", total, selected, overflow
  printf "# bin_low bin_high count\n"
  for (b = 0; b < nbins; b++) printf "%g %g %d\n", lo + b * width, lo + (b + 1) * width, counts[b] + 0
}
