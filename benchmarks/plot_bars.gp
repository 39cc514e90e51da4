# Clustered bars from a table with one row per variant: first column the
# variant, then one column per bar.
#   gnuplot -c plot_bars.gp TABLE OUTPUT.png TITLE YLABEL
table = ARG1
ncol = int(system("head -1 '" . table . "' | awk -F'\t' '{print NF}'"))

set terminal png size 720,380 font "DejaVuSans,9"
set termoption noenhanced
set output ARG2
set title ARG3
set ylabel ARG4
set datafile separator "\t"
set key autotitle columnheader
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set yrange [0:*]
set grid ytics
set xtics rotate by -30
set key outside top center horizontal
plot for [i=2:ncol] table using i:xtic(1)
