#!/usr/bin/env bash
# Measures every performance row of the README against its baseline, side
# by side in one run, and prints a table.
#
#   bench/run.sh                  # corpora under ${BENCH_DIR:-/tmp/wxmedia-bench}
#   BENCH_DIR=/data/bench RUNS=5 bench/run.sh
#
# Corpora are generated with go run ./bench/gencorpus and applied to the
# built-in sandbox once; a corpus directory that already holds a state is
# reused as it is, in the layout the wxmedia that applied it wrote (remove
# the directory to measure the state a new apply writes). Times are the best of $RUNS runs (default 3) with the
# file contents in the page cache. Needs git, openssl, find, xargs and
# GNU time (/usr/bin/time); hyperfine is not needed.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/wxmedia-bench}
RUNS=${RUNS:-3}
BIN=$BENCH_DIR/wxmedia
mkdir -p "$BENCH_DIR"
(cd "$ROOT" && go build -o "$BIN" .)

log() { echo "# $*" >&2; }

# best CMD...: the shortest wall time of $RUNS runs, in seconds.
best() {
	local b="" s e t
	for _ in $(seq "$RUNS"); do
		s=$(date +%s%N)
		"$@" >/dev/null 2>&1
		e=$(date +%s%N)
		t=$(( (e - s) / 1000 ))
		if [ -z "$b" ] || [ "$t" -lt "$b" ]; then b=$t; fi
	done
	awk -v us="$b" 'BEGIN { printf "%.3f", us / 1e6 }'
}

# corpus DIR N SIZE: generate and apply a corpus unless DIR holds a state.
corpus() {
	local dir=$1 n=$2 size=$3
	if [ -f "$dir/.wxmedia/state.db" ]; then
		log "reusing $dir"
		return
	fi
	log "generating $n images in $dir"
	(cd "$ROOT" && go run ./bench/gencorpus -dir "$dir" -n "$n" -size "$size")
}

applied() {
	local dir=$1
	if [ ! -f "$dir/.wxmedia/state.db" ]; then
		log "applying $dir"
		(cd "$dir" && "$BIN" apply -auto-approve -parallelism 16 -no-color >/dev/null)
	fi
	# Twice more: the stat cache remembers files once they have settled.
	(cd "$dir" && "$BIN" plan -no-color >/dev/null && "$BIN" plan -no-color >/dev/null)
}

warm() { find "$1/img" -type f -print0 | xargs -0 cat >/dev/null; }

rows=()
row() { rows+=("$(printf '%-58s | %12s | %12s | %7s | %-14s | %s' "$@")"); }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
met() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN { ok = (op == "le") ? v <= t : v >= t; print ok ? "yes" : "NO" }'; }

# 1. Cold plan of 1,024 PNGs of 1 MiB against parallel openssl.
BIG=$BENCH_DIR/big
corpus "$BIG" 1024 1048576
(cd "$BIG" && "$BIN" plan -no-color >/dev/null) # creates the sandbox keys once
warm "$BIG"
cold_plan() { rm -f .wxmedia/state.db .wxmedia/statcache; "$BIN" plan -no-color; }
ours=$(cd "$BIG" && best cold_plan)
base=$(cd "$BIG" && best sh -c "find img -name '*.png' -print0 | xargs -0 -P2 -n128 openssl dgst -sha256")
r=$(ratio "$ours" "$base")
row "cold plan, 1,024 x 1 MiB PNG (s)" "$ours" "$base" "$r" "<= 1.10x" "$(met "$r" 1.10 le)"

# 2. No-change plan over 100,000 small files against git status.
SMALL=$BENCH_DIR/small
corpus "$SMALL" 100000 0
applied "$SMALL"
if [ ! -d "$SMALL/.git" ]; then
	(cd "$SMALL" && git init -q . && git add img main.wxm.hcl)
fi
warm "$SMALL"
ours100k=$(cd "$SMALL" && best "$BIN" plan -no-color)
base=$(cd "$SMALL" && best git status --porcelain)
r=$(ratio "$ours100k" "$base")
row "no-change plan, 100,000 files (s)" "$ours100k" "$base" "$r" "<= 2.0x" "$(met "$r" 2.0 le)"

# 3. No-change plan at 1,000 files against 13 ms per file.
K1=$BENCH_DIR/k1
corpus "$K1" 1000 0
applied "$K1"
ours1k=$(cd "$K1" && best "$BIN" plan -no-color)
base=$(awk 'BEGIN { printf "%.3f", 1000 * 0.013 }')
r=$(ratio "$base" "$ours1k")
row "no-change plan, 1,000 files (s; ratio = speed-up)" "$ours1k" "$base" "$r" ">= 100x" "$(met "$r" 100 ge)"

# 4. Peak RSS of the no-change plan at 100,000 files.
rss=$(cd "$SMALL" && /usr/bin/time -f %M "$BIN" plan -no-color 2>&1 >/dev/null | tail -1)
mb=$(awk -v k="$rss" 'BEGIN { printf "%.0f", k / 1024 }')
row "peak RSS, no-change plan, 100,000 files (MB)" "$mb" "200" "$(ratio "$mb" 200)" "<= 200 MB" "$(met "$mb" 200 le)"

# 5. Per-file cost at 100,000 against 1,000 files.
p100k=$(awk -v t="$ours100k" 'BEGIN { printf "%.2f", t / 100000 * 1e6 }')
p1k=$(awk -v t="$ours1k" 'BEGIN { printf "%.2f", t / 1000 * 1e6 }')
r=$(ratio "$p100k" "$p1k")
row "per-file cost, 100,000 vs 1,000 files (us/file)" "$p100k" "$p1k" "$r" "<= 1.3x" "$(met "$r" 1.3 le)"

# 6. Apply of 10,000 new images against a plain signed-upload loop.
out=$(cd "$ROOT" && WXMEDIA_BENCH_UPLOADS=10000 go test ./apply -run '^$' -bench 'BenchmarkApply' -benchtime 1x -count 1)
ours=$(echo "$out" | awk '/BenchmarkApply\/apply/ { print $(NF-1) }')
base=$(echo "$out" | awk '/BenchmarkApply\/baseline/ { print $(NF-1) }')
r=$(ratio "$ours" "$base")
row "apply, 10,000 new images, -parallelism=16 (files/s)" "$ours" "$base" "$r" ">= 0.8x" "$(met "$r" 0.8 ge)"

printf '%-58s | %12s | %12s | %7s | %-14s | %s\n' "row" "wxmedia" "baseline" "ratio" "target" "met"
printf '%s\n' "${rows[@]}"
