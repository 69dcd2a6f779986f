# roofline.gp — written by `tritune report`; run `gnuplot roofline.gp` in this folder to redraw.
W = 1400
H = 800
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size W,H noenhanced font "Sans,12" background rgb "white"
} else {
    set terminal png size W,H noenhanced
}
set output 'roofline.png'
set datafile missing '?'
set datafile separator '\t'
set title "Achieved weight bandwidth per shape vs measured DRAM read bandwidth\nmeasured on Oxide Virtual Turin-like Processor (oxide-virtual-turin-like-processor-f26m2-2c)" font ",14"
set grid ytics lc rgb '#dddddd'
set border lc rgb '#444444'
set ylabel "achieved weight bandwidth [GB/s]"
set xlabel "shape, threads, race regime"
set xrange [-0.6:23.6]
set yrange [0:*]
set xtics rotate by 90 right nomirror font ",10"
set bmargin 12
set key outside right top vertical
plot 'roofline.dat' using ($1-0.42):6:(0.84):(0) with vectors nohead lw 3 lc rgb 'black' title "measured DRAM read bandwidth (roofline)", \
     'roofline_all.dat' using 1:2 with points pt 7 ps 0.6 lc rgb '#b0b0b0' title "all variants timed (gbench)", \
     'roofline.dat' using 1:5 with points pt 5 ps 1.6 lc rgb '#d62728' title "baseline", \
     '' using 1:4 with points pt 9 ps 1.9 lc rgb '#ff7f0e' title "runner-up", \
     '' using 1:3:xtic(2) with points pt 7 ps 1.9 lc rgb '#1f77b4' title "winner"
set terminal svg size W,H dynamic noenhanced font "Sans,12" background rgb "white"
set output 'roofline.svg'
replot
set output
