# scaling.gp — written by `tritune report`; run `gnuplot scaling.gp` in this folder to redraw.
W = 1200
H = 700
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size W,H noenhanced font "Sans,12" background rgb "white"
} else {
    set terminal png size W,H noenhanced
}
set output 'scaling.png'
set datafile missing '?'
set datafile separator '\t'
set title "Thread scaling of the winners per race regime\nmeasured on Oxide Virtual Turin-like Processor (oxide-virtual-turin-like-processor-f26m2-2c)" font ",14"
set grid ytics lc rgb '#dddddd'
set border lc rgb '#444444'
set xlabel "threads"
set ylabel "winner's achieved weight bandwidth [GB/s]"
set xrange [0.5:2.5]
set yrange [0:*]
set xtics 1
set key outside right top
plot 'scaling_bw.dat' using 1:2 with linespoints lw 3 dt 2 pt 6 ps 1.5 lc rgb 'black' title "measured DRAM read bandwidth", \
     'scaling.dat' index 0 using 1:2 with linespoints lw 2 pt 7 ps 1.5 title "attn_q_o 2560×2560, cold race", \
     'scaling.dat' index 1 using 1:2 with linespoints lw 2 dt 3 pt 5 ps 1.5 title "attn_q_o 2560×2560, warm race", \
     'scaling.dat' index 2 using 1:2 with linespoints lw 2 pt 7 ps 1.5 title "attn_k_v 640×2560, cold race", \
     'scaling.dat' index 3 using 1:2 with linespoints lw 2 dt 3 pt 5 ps 1.5 title "attn_k_v 640×2560, warm race", \
     'scaling.dat' index 4 using 1:2 with linespoints lw 2 pt 7 ps 1.5 title "attn_qkv_fused 3840×2560, cold race", \
     'scaling.dat' index 5 using 1:2 with linespoints lw 2 dt 3 pt 5 ps 1.5 title "attn_qkv_fused 3840×2560, warm race", \
     'scaling.dat' index 6 using 1:2 with linespoints lw 2 pt 7 ps 1.5 title "ffn_gate_up 6912×2560, cold race", \
     'scaling.dat' index 7 using 1:2 with linespoints lw 2 dt 3 pt 5 ps 1.5 title "ffn_gate_up 6912×2560, warm race", \
     'scaling.dat' index 8 using 1:2 with linespoints lw 2 pt 7 ps 1.5 title "ffn_gate_up_fused 13824×2560, cold race", \
     'scaling.dat' index 9 using 1:2 with linespoints lw 2 dt 3 pt 5 ps 1.5 title "ffn_gate_up_fused 13824×2560, warm race", \
     'scaling.dat' index 10 using 1:2 with linespoints lw 2 pt 7 ps 1.5 title "ffn_down 2560×6912, cold race", \
     'scaling.dat' index 11 using 1:2 with linespoints lw 2 dt 3 pt 5 ps 1.5 title "ffn_down 2560×6912, warm race"
set terminal svg size W,H dynamic noenhanced font "Sans,12" background rgb "white"
set output 'scaling.svg'
replot
set output
