#!/usr/bin/env bash
# Measures every performance row of docs/performance.md against its
# baseline, side by side in one run, and prints a table.
#
#   bench/run.sh                          # corpora under ${BENCH_DIR:-/tmp/wxmedia-bench}
#   BENCH_DIR=/data/bench RUNS=5 bench/run.sh
#   BENCH_1M=1 bench/run.sh               # adds the 1,000,000-file row
#   OTHER_BIN=/tmp/wxmedia-old bench/run.sh   # adds that build's no-change plans
#   ROWS="noop edit" bench/run.sh         # only some rows: cold noop 1m edit apply start
#
# Every row runs its command and its baseline in turn, round after round
# ($RUNS rounds, default 5), so that other work on the machine weighs on
# both alike; a time is the best of the rounds (wall clock), a memory
# figure the highest peak RSS of the rounds as GNU time -v reports it, a
# CPU figure (user + system, from GNU time -v) the best of the rounds: on
# a machine shared with other work it moves less than wall time does.
# Corpora are generated with bench/gencorpus and applied to the built-in
# sandbox once; a corpus directory that already holds a state is reused as
# it is (remove it to measure the state a new apply writes). The
# 1,000,000-file corpus is recorded in its state by bench/genstate rather
# than uploaded (an apply of a million images to the sandbox takes hours
# on a small machine). Needs git, openssl, find, xargs and GNU time.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/wxmedia-bench}
RUNS=${RUNS:-5}
ROWS=${ROWS:-cold noop edit apply start}
if [ "${BENCH_1M:-}" = 1 ]; then ROWS="$ROWS 1m"; fi
BIN=$BENCH_DIR/wxmedia
RES=$(mktemp -d)
trap 'rm -rf "$RES"' EXIT
mkdir -p "$BENCH_DIR"
(cd "$ROOT" && go build -o "$BIN" . && go build -o "$BENCH_DIR/gencorpus" ./bench/gencorpus && go build -o "$BENCH_DIR/genstate" ./bench/genstate)

log() { echo "# $*" >&2; }
want() { [[ " $ROWS " == *" $1 "* ]]; }

# one LABEL PREP CMD...: runs PREP (untimed, may be :), then CMD under GNU
# time -v, and appends its wall time (µs) and peak RSS (KiB) to $RES/LABEL.
one() {
	local label=$1 prep=$2 s e
	shift 2
	$prep
	s=$(date +%s%N)
	if ! /usr/bin/time -v -o "$RES/time" "$@" >/dev/null 2>"$RES/err"; then
		log "$label failed: $*"
		cat "$RES/err" >&2
		exit 1
	fi
	e=$(date +%s%N)
	echo "$(((e - s) / 1000)) $(awk -F': ' '/Maximum resident/ { m = $2 } /User time/ { c += $2 } /System time/ { c += $2 } END { print m, c }' "$RES/time")" >>"$RES/$label"
}

# bare LABEL CMD...: as one, without GNU time (for the start-up rows, where
# its own fork and exec would count); no RSS.
bare() {
	local label=$1 s e
	shift
	s=$(date +%s%N)
	"$@" >/dev/null 2>&1
	e=$(date +%s%N)
	echo "$(((e - s) / 1000)) 0" >>"$RES/$label"
}

wall() { sort -n "$RES/$1" | head -1 | awk '{ printf "%.4f", $1 / 1e6 }'; } # best, s
mib() { awk '$2 > m { m = $2 } END { printf "%.0f", m / 1024 }' "$RES/$1"; }  # highest peak, MiB
cpu() { sort -g -k3 "$RES/$1" | head -1 | awk '{ printf "%.2f", $3 }'; }     # best user + system, s

# corpus DIR N SIZE: generate a corpus unless DIR holds one.
corpus() {
	local dir=$1 n=$2 size=$3
	if [ -f "$dir/main.wxm.hcl" ]; then
		log "reusing $dir"
		return
	fi
	log "generating $n images in $dir"
	"$BENCH_DIR/gencorpus" -dir "$dir" -n "$n" -size "$size"
}

# applied DIR [genstate]: apply DIR's corpus unless it holds a state, then
# plan twice, so that the stat cache holds every file once settled.
applied() {
	local dir=$1
	if [ ! -f "$dir/.wxmedia/state.db" ]; then
		if [ "${2:-}" = genstate ]; then
			log "recording $dir in its state"
			"$BENCH_DIR/genstate" -dir "$dir" >/dev/null
		else
			log "applying $dir"
			(cd "$dir" && "$BIN" apply -auto-approve -parallelism 16 -no-color >/dev/null)
		fi
	fi
	(cd "$dir" && "$BIN" plan -no-color >/dev/null && "$BIN" plan -no-color >/dev/null)
}

warm() { find "$1/img" -type f -print0 | xargs -0 cat >/dev/null; }

rows=()
row() { rows+=("$(printf '%-50s | %10s | %10s | %7s | %-18s | %-4s | %s' "$@")"); }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
met() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN { ok = (op == "le") ? v <= t : v >= t; print ok ? "yes" : "NO" }'; }

SMALL=$BENCH_DIR/small
if want noop || want edit || want 1m; then
	corpus "$SMALL" 100000 0
	applied "$SMALL"
	if [ ! -d "$SMALL/.git" ]; then
		(cd "$SMALL" && git init -q . && git add img main.wxm.hcl)
	fi
	warm "$SMALL"
fi

# Cold plan over 1 GiB (1,024 PNGs of 1 MiB), no state and no stat cache,
# against openssl on both cores.
if want cold; then
	BIG=$BENCH_DIR/big
	corpus "$BIG" 1024 1048576
	(cd "$BIG" && "$BIN" plan -no-color >/dev/null) # creates the sandbox keys once
	warm "$BIG"
	cold() { rm -f .wxmedia/state.db .wxmedia/statcache; }
	cd "$BIG"
	for _ in $(seq "$RUNS"); do
		one cold-ours cold "$BIN" plan -no-color
		one cold-base : sh -c "find img -name '*.png' -print0 | xargs -0 -P2 -n128 openssl dgst -sha256"
	done
	cd "$ROOT"
	a=$(wall cold-ours) b=$(wall cold-base)
	r=$(ratio "$a" "$b")
	row "cold plan, 1 GiB (1,024 x 1 MiB), s" "$a" "$b" "$r" "<= 1.05x" "$(met "$r" 1.05 le)" "openssl dgst -sha256, -P2"
	row "  peak RSS, MiB" "$(mib cold-ours)" "$(mib cold-base)" "" "" "" ""
	row "  CPU (user + system), s" "$(cpu cold-ours)" "$(cpu cold-base)" "$(ratio "$(cpu cold-ours)" "$(cpu cold-base)")" "" "" ""
fi

# No-change plan over 100,000 files against git status on the same
# committed tree (and OTHER_BIN's plan, when given).
if want noop; then
	cd "$SMALL"
	for _ in $(seq "$RUNS"); do
		one noop-ours : "$BIN" plan -no-color
		one noop-git : git status --porcelain
		if [ -n "${OTHER_BIN:-}" ]; then one noop-other : "$OTHER_BIN" plan -no-color; fi
	done
	cd "$ROOT"
	a=$(wall noop-ours) b=$(wall noop-git)
	r=$(ratio "$a" "$b")
	row "no-change plan, 100,000 files, s" "$a" "$b" "$r" "<= 1.0x" "$(met "$r" 1.0 le)" "git status --porcelain"
	m=$(mib noop-ours)
	row "  peak RSS, MiB" "$m" "$(mib noop-git)" "" "<= 80 MiB" "$(met "$m" 80 le)" "git status --porcelain"
	row "  CPU (user + system), s" "$(cpu noop-ours)" "$(cpu noop-git)" "$(ratio "$(cpu noop-ours)" "$(cpu noop-git)")" "" "" "git status --porcelain"
	if [ -n "${OTHER_BIN:-}" ]; then
		o=$(wall noop-other)
		row "  OTHER_BIN's plan, s (ratio: this / it)" "$o" "$b" "$(ratio "$a" "$o")" "" "" "$(ratio "$o" "$b")x git; $(mib noop-other) MiB; CPU $(cpu noop-other) s"
	fi
fi

# No-change plan over 1,000,000 files against the 100,000-file one.
if want 1m; then
	M1=$BENCH_DIR/m1
	corpus "$M1" 1000000 0
	applied "$M1" genstate
	warm "$M1"
	for _ in $(seq "$RUNS"); do
		(cd "$M1" && one m1-ours : "$BIN" plan -no-color)
		(cd "$SMALL" && one m1-100k : "$BIN" plan -no-color)
	done
	a=$(wall m1-ours) b=$(wall m1-100k)
	r=$(ratio "$a" "$b")
	row "no-change plan, 1,000,000 files, s" "$a" "$b" "$r" "<= 12x" "$(met "$r" 12 le)" "the 100,000-file plan"
	m=$(mib m1-ours)
	row "  peak RSS, MiB" "$m" "$(mib m1-100k)" "" "<= 600 MiB" "$(met "$m" 600 le)" "the 100,000-file plan"
	row "  CPU (user + system), s" "$(cpu m1-ours)" "$(cpu m1-100k)" "$(ratio "$(cpu m1-ours)" "$(cpu m1-100k)")" "" "" "the 100,000-file plan"
fi

# Plan with 100 of the 100,000 files edited, against the no-change plan
# plus hashing those 100 files (one openssl process). Each round writes
# new contents into the 100 files (bytes appended after the image), so
# that every plan sees them freshly edited; they are then put back and the
# no-change plan runs, in turn with the same hashing, in rounds of its own
# (a file put back is a changed file until the stat cache settles on it).
if want edit; then
	cd "$SMALL"
	mapfile -t edited < <(ls img/d050/*.png | head -100)
	keep=$RES/keep
	mkdir -p "$keep"
	cp "${edited[@]}" "$keep/"
	round=0
	edit() {
		round=$((round + 1))
		for f in "${edited[@]}"; do
			{ cat "$keep/$(basename "$f")"; printf 'edit %d\n' "$round"; } >"$f"
		done
	}
	for _ in $(seq "$RUNS"); do
		one edit-ours edit "$BIN" plan -no-color
		one edit-hash : openssl dgst -sha256 "${edited[@]}"
	done
	# The no-change plan: the edited files restored, the stat cache
	# settled on them again.
	cp "$keep"/*.png img/d050/
	touch -d '-2 seconds' "${edited[@]}"
	"$BIN" plan -no-color >/dev/null
	sleep 1
	"$BIN" plan -no-color >/dev/null
	for _ in $(seq "$RUNS"); do
		one edit-noop : "$BIN" plan -no-color
		one edit-hash2 : openssl dgst -sha256 "${edited[@]}"
	done
	cd "$ROOT"
	a=$(wall edit-ours) n=$(wall edit-noop) h=$(wall edit-hash)
	b=$(awk -v n="$n" -v h="$h" 'BEGIN { printf "%.4f", n + h }')
	r=$(ratio "$a" "$b")
	row "plan, 100 of 100,000 files edited, s" "$a" "$b" "$r" "<= 1.10x" "$(met "$r" 1.10 le)" "no-change plan $n s + openssl over the 100 $h s"
	c=$(awk -v n="$(cpu edit-noop)" -v h="$(cpu edit-hash)" 'BEGIN { printf "%.2f", n + h }')
	row "  CPU (user + system), s" "$(cpu edit-ours)" "$c" "$(ratio "$(cpu edit-ours)" "$c")" "" "" "the same sum"
fi

# Apply of 10,000 new images to the in-process sandbox against a plain
# loop of signed uploads doing the same requests (go test -count rounds:
# each round runs both).
if want apply; then
	# Round after round like every row (go test's -count would run all the
	# apply rounds before all the loop rounds): each round runs the
	# benchmark once, apply then the loop, against one sandbox.
	(cd "$ROOT" && go test -c -o "$BENCH_DIR/apply.test" ./apply)
	out=
	for _ in $(seq "$RUNS"); do
		out+=$(cd "$ROOT/apply" && WXMEDIA_BENCH_UPLOADS=10000 "$BENCH_DIR/apply.test" -test.run '^$' -test.bench 'BenchmarkApply' -test.benchtime 1x -test.count 1)$'\n'
	done
	# files/s of SUB's rounds, one a line
	rate() { echo "$out" | awk -v sub_="BenchmarkApply/$1-" 'index($1, sub_) == 1 { for (i = 2; i <= NF; i++) if ($(i) == "files/s") print $(i-1) }'; }
	best() { sort -g | tail -1; }
	median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
	a=$(rate apply | best)
	b=$(rate baseline | best)
	r=$(ratio "$a" "$b")
	row "apply, 10,000 new images, files/s (best)" "$a" "$b" "$r" ">= 0.9x" "$(met "$r" 0.9 ge)" "plain signed-upload loop; medians $(rate apply | median) / $(rate baseline | median)"
fi

# Start-up of validate and plan on a 5-file configuration (applied), against
# the 15 ms target; /bin/true is the machine's floor for starting a process.
if want start; then
	FIVE=$BENCH_DIR/five
	corpus "$FIVE" 5 0
	applied "$FIVE"
	cd "$FIVE"
	for _ in $(seq $((RUNS * 4))); do
		bare start-validate "$BIN" validate -no-color
		bare start-plan "$BIN" plan -no-color
		bare start-true /bin/true
	done
	cd "$ROOT"
	t=$(wall start-true)
	for c in validate plan; do
		a=$(wall "start-$c")
		a_ms=$(awk -v a="$a" 'BEGIN { printf "%.1f", a * 1000 }')
		row "start-up, $c, 5-file config, ms" "$a_ms" "15" "$(ratio "$a_ms" 15)" "<= 15 ms" "$(met "$a_ms" 15 le)" "/bin/true: $(awk -v t="$t" 'BEGIN { printf "%.1f", t * 1000 }') ms"
	done
fi

echo "best of $RUNS rounds (start-up: $((RUNS * 4))), each command beside its baseline; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-50s | %10s | %10s | %7s | %-18s | %-4s | %s\n' "row" "wxmedia" "baseline" "ratio" "target" "met" "baseline is"
printf '%s\n' "${rows[@]}"
