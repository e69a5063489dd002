#!/usr/bin/env bash
# Applies a corpus of small images to `wxmedia sandbox` under its rate limit
# (-faults=rps=R per merchant and API) and reports the exit status, the
# uploads per second of the apply, the give-ups, and whether a second apply
# uploads nothing.
#
#   bench/ratelimit.sh RPS FILES [MERCHANTS] [PARALLELISM]
#   bench/ratelimit.sh 20 300 1 16   # 300 files at -parallelism=16 against rps=20
#   bench/ratelimit.sh 2 20          # 20 files against rps=2
#   bench/ratelimit.sh 10 300 3 16   # three merchants each limited to 10/s
#
# BIN=path uses that wxmedia binary instead of building this tree (to
# measure another version the same way); SBBIN=path runs the sandbox server
# with another binary (default: BIN), e.g. one whose sandbox takes -mchid.
# KEEP=1 keeps the work directory (logs, with WXMEDIA_LOG=debug). Needs
# bash, date and awk.
set -euo pipefail

RPS=${1:?rps}
FILES=${2:?files}
MERCHANTS=${3:-1}
PAR=${4:-16}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wxmedia-ratelimit.XXXXXX")
trap 'kill "$SBPID" 2>/dev/null || true; wait "$SBPID" 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
if [ -z "${BIN:-}" ]; then
	BIN=$WORK/wxmedia
	(cd "$ROOT" && go build -o "$BIN" .)
fi

mchids=()
for i in $(seq "$MERCHANTS"); do mchids+=("$((1900000000 + i))"); done
list=$(IFS=,; echo "${mchids[*]}")
sbflags=(-listen=127.0.0.1:0 -dir="$WORK/sb" -faults="rps=$RPS")
if [ "$MERCHANTS" -gt 1 ]; then sbflags+=(-mchid="$list"); fi
"${SBBIN:-$BIN}" sandbox "${sbflags[@]}" >"$WORK/sb.out" 2>"$WORK/sb.err" &
SBPID=$!
for _ in $(seq 100); do [ -s "$WORK/sb.out" ] && break; sleep 0.1; done
[ -s "$WORK/sb.out" ] || { cat "$WORK/sb.err" >&2; exit 1; }

C=$WORK/config
(cd "$ROOT" && go run ./bench/gencorpus -dir "$C" -n "$FILES" -per-dir "$(( (FILES + MERCHANTS - 1) / MERCHANTS ))" >/dev/null)
cp "$WORK"/sb/merchant*.wxm.hcl "$C/"
{
	for i in $(seq 0 $((MERCHANTS - 1))); do
		name=sandbox
		[ "$i" -gt 0 ] && name="sandbox_${mchids[$i]}"
		printf 'resource "wechatpay_image" "m%d" {\n  for_each = fileset("img/d%03d", "*.png")\n  merchant = merchant.%s\n  source   = "img/d%03d/${each.value}"\n}\n' "$i" "$i" "$name" "$i"
	done
} >"$C/main.wxm.hcl"

cd "$C"
"$BIN" plan -no-color >/dev/null # keys, hashing: not part of the measurement
s=$(date +%s%N)
set +e
"$BIN" apply -auto-approve -no-color -parallelism="$PAR" ${APPLY_FLAGS:-} >"$WORK/apply.out" 2>"$WORK/apply.err"
rc=$?
set -e
e=$(date +%s%N)
uploaded=$(grep -o '[0-9]* uploaded' "$WORK/apply.out" | tail -1 | cut -d' ' -f1)
giveups=$(grep -c 'giving up' "$WORK/apply.err" || true)
"$BIN" apply -auto-approve -no-color >"$WORK/again.out" 2>&1 || true
again=$(grep -q 'No changes' "$WORK/again.out" && echo "uploads nothing" || echo "UPLOADS AGAIN")
awk -v n="${uploaded:-0}" -v ns=$((e - s)) -v rc=$rc -v g="$giveups" -v a="$again" -v r="$RPS" -v m="$MERCHANTS" -v f="$FILES" -v p="$PAR" \
	'BEGIN { t = ns / 1e9; printf "rps=%s merchants=%s files=%s parallelism=%s: exit %d, %d uploaded in %.2fs = %.1f uploads/s, %d give-ups; second apply %s\n", r, m, f, p, rc, n, t, n / t, g, a }'
[ "$rc" -eq 0 ] || tail -5 "$WORK/apply.err" >&2
