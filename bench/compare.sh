#!/usr/bin/env bash
# Compares no-change plans of several wxmedia builds, and git status, in
# one run: each round runs every command once, in turn, so that other
# work on the machine weighs on all alike. Prints, per command, the best
# wall time, the best CPU time (user + system) and the highest and lowest
# peak RSS over the rounds.
#
#   bench/compare.sh ROUNDS LABEL=DIR=BIN... [git=DIR]
#   bench/compare.sh 9 old=/tmp/wxmedia-bench/small-old=/tmp/wx-old \
#       new=/tmp/wxmedia-bench/small-new=/tmp/wx-new git=/tmp/wxmedia-bench/small-old
#
# Each DIR is a corpus of bench/gencorpus that BIN applied itself (a
# state is read by the wxmedia that wrote it, or a later one). git=DIR
# runs `git status --porcelain` in DIR, which must be a git repository
# with the files added (bench/run.sh makes one). Needs GNU time.
set -euo pipefail

rounds=$1
shift
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for _ in $(seq "$rounds"); do
	for spec in "$@"; do
		label=${spec%%=*}
		rest=${spec#*=}
		dir=${rest%%=*}
		if [ "$label" = git ]; then
			cmd=(git status --porcelain)
		else
			cmd=("${rest#*=}" plan -no-color)
		fi
		s=$(date +%s%N)
		(cd "$dir" && /usr/bin/time -o "$out.t" -f '%U %S %M' "${cmd[@]}" >/dev/null 2>&1)
		e=$(date +%s%N)
		echo "$label $(((e - s) / 1000)) $(cat "$out.t")" >>"$out"
	done
done
awk '{
	l = $1; w = $2 / 1e6; c = $3 + $4; m = $5 / 1024
	if (!(l in bw) || w < bw[l]) bw[l] = w
	if (!(l in bc) || c < bc[l]) bc[l] = c
	if (!(l in lo) || m < lo[l]) lo[l] = m
	if (m > hi[l]) hi[l] = m
	if (!(l in seen)) { seen[l] = 1; order[++n] = l }
} END {
	printf "%-8s %10s %10s %16s\n", "command", "wall (s)", "CPU (s)", "peak RSS (MB)"
	for (i = 1; i <= n; i++) { l = order[i]; printf "%-8s %10.3f %10.2f %7.0f–%-7.0f\n", l, bw[l], bc[l], lo[l], hi[l] }
}' "$out"
