#!/bin/sh
# bench/modules.sh: a no-change plan of 10,000 files for 1,000 merchants
# (10 each) declared through a module with for_each over the merchants,
# against the same 10,000 files declared flat (one resource, one merchant):
# wall time and peak memory (GNU time's maximum resident set size), best
# of ROUNDS runs of each, the two interleaved. The contract: the module's
# within 1.5x of the flat one's, for both.
#
#	bench/modules.sh [WORKDIR] [ROUNDS]
#
# The corpora are written by bench/gencorpus (the same files in both) and
# recorded in their states by bench/genstate, once, under WORKDIR.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:-/tmp/wxmedia-bench-modules}
ROUNDS=${2:-5}
mkdir -p "$WORK"
BIN="$WORK/wxmedia"
(cd "$ROOT" && go build -o "$BIN" . && go build -o "$WORK/gencorpus" ./bench/gencorpus && go build -o "$WORK/genstate" ./bench/genstate)
for layout in flat module; do
	dir="$WORK/$layout"
	if [ ! -f "$dir/.wxmedia/state.db" ]; then
		rm -rf "$dir"
		"$WORK/gencorpus" -dir "$dir" -n 10000 -merchants 1000 -layout "$layout"
		"$WORK/genstate" -dir "$dir" >/dev/null
		"$BIN" -chdir="$dir" plan >/dev/null # first plan: sandbox keys, stat cache
	fi
done
# run LAYOUT: one no-change plan; prints "seconds kilobytes".
run() {
	/usr/bin/time -f '%e %M' -o "$WORK/time.txt" "$BIN" -chdir="$WORK/$1" plan -detailed-exitcode >/dev/null
	cat "$WORK/time.txt"
}
best_t_flat=; best_m_flat=; best_t_module=; best_m_module=
i=0
while [ $i -lt "$ROUNDS" ]; do
	for layout in flat module; do
		set -- $(run $layout)
		eval "bt=\${best_t_$layout:-} bm=\${best_m_$layout:-}"
		if [ -z "$bt" ] || [ "$(echo "$1 < $bt" | bc)" = 1 ]; then eval "best_t_$layout=$1"; fi
		if [ -z "$bm" ] || [ "$2" -lt "$bm" ]; then eval "best_m_$layout=$2"; fi
		echo "round $i $layout: $1 s, $2 KB"
	done
	i=$((i + 1))
done
echo "best of $ROUNDS: flat $best_t_flat s $best_m_flat KB; module $best_t_module s $best_m_module KB"
echo "module/flat: time $(echo "scale=2; $best_t_module / $best_t_flat" | bc)x, memory $(echo "scale=2; $best_m_module / $best_m_flat" | bc)x (target: 1.5x)"
