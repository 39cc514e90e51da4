# The memmap scenario as two bar charts: first binding and mean rebind, per
# variant, for both drivers. The table has one row per variant and the columns
# variant, nd_pmem_first, nd_pmem_rebind, dax_pmem_first, dax_pmem_rebind.
#   gnuplot -c plot_memmap.gp TABLE OUTPUT.png
table = ARG1
set terminal png size 720,360 font "DejaVuSans,9"
set termoption noenhanced
set output ARG2
set datafile separator "\t"
set key autotitle columnheader
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set yrange [0:*]
set grid ytics
set ylabel "milliseconds"
set key outside bottom center horizontal
set multiplot layout 1,2 title "memmap of a 100 GB namespace, 26,214,400 struct pages (lower is better)"
set title "first binding (fresh memory)"
plot table using 2:xtic(1) title "nd_pmem", '' using 4 title "dax_pmem"
set title "rebind (mean)"
plot table using 3:xtic(1) title "nd_pmem", '' using 5 title "dax_pmem"
unset multiplot
