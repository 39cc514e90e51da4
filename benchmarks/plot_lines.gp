# Bandwidth against bytes written, one line per column of a table that
# ntcopy-bench wrote (first column: bytes; then one column per variant; the
# last REFS columns are bare reference loops, drawn dashed).
#   gnuplot -c plot_lines.gp TABLE OUTPUT.png TITLE REFS
table = ARG1
refs = int(ARG4)
ncol = int(system("head -1 '" . table . "' | awk -F'\t' '{print NF}'"))
last = ncol - refs
# Twelve colours that stay apart; the bare loops are black and grey.
array colour[12] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", \
                    "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#ad494a"]

set terminal png size 720,420 font "DejaVuSans,9"
set termoption noenhanced
set output ARG2
set title ARG3
set datafile separator "\t"
set datafile missing "?"
set logscale x 2
set logscale y 2
unit(k) = k < 5 ? sprintf("%d B", 4**k) : k < 10 ? sprintf("%d KiB", 4**(k-5)) : k < 15 ? sprintf("%d MiB", 4**(k-10)) : sprintf("%d GiB", 4**(k-15))
set xtics ()
do for [k=3:16:2] { set xtics add (unit(k) 4.0**k) }
set xlabel "bytes written per call"
set ylabel "GB/s (median)"
set grid xtics ytics
set key outside right top
variants = "for [i=2:last] table using 1:i with linespoints lw 2 pt (i % 7) + 1 ps 1 \
  lc rgb colour[(i - 2) % 12 + 1] title columnheader(i)"
bare = "for [i=last+1:ncol] table using 1:i with lines dt 2 lw 3 \
  lc rgb (i == last + 1 ? 'black' : 'gray50') title columnheader(i)"
if (refs > 0) { plot @variants, @bare } else { plot @variants }
