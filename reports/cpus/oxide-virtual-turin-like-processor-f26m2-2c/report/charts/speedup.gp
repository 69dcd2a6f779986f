# speedup.gp — written by `tritune report`; run `gnuplot speedup.gp` in this folder to redraw.
W = 1200
H = 700
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size W,H noenhanced font "Sans,12" background rgb "white"
} else {
    set terminal png size W,H noenhanced
}
set output 'speedup.png'
set datafile missing '?'
set datafile separator '\t'
set title "Speedup over the bitnet.cpp-style baseline, cold and warm regimes\nmeasured on Oxide Virtual Turin-like Processor (oxide-virtual-turin-like-processor-f26m2-2c)" font ",14"
set grid ytics lc rgb '#dddddd'
set border lc rgb '#444444'
set ylabel "speedup: baseline time / winner time [×]"
set xlabel "shape, threads, race regime (each race measures its winner in both regimes)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set yrange [0:*]
set xtics rotate by 30 right nomirror
set key outside top center horizontal
set xrange [-0.6:23.4]
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 2 lc rgb 'black' front
plot 'speedup.dat' using 2:xtic(1) title "cold (weights from DRAM)" lc rgb '#1f77b4', \
     '' using 3 title "warm (weights in cache)" lc rgb '#ff7f0e'
set terminal svg size W,H dynamic noenhanced font "Sans,12" background rgb "white"
set output 'speedup.svg'
replot
set output
