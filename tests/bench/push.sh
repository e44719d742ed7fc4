#!/bin/bash
# Upload benchmark: ferry push (--parallel 1 and 4) against curl -T to a
# presigned URL, s3cmd put and a boto3 multipart upload, each sending a 2 GiB
# file of random data over TLS to a throwaway radosgw on loopback
# (tests/s3/lib/rgw.sh). Prints median throughput and peak RSS of RUNS runs
# each (every stored object checked, the first of each tool by SHA-256), and
# checks ferry against its targets:
#   --parallel 1 >= 0.9 x curl; --parallel 4 >= the best other tool;
#   peak RSS <= 64 MiB + 16 MiB per part in flight (80 MiB for 1, 128 for 4).
# usage: FERRY=path/to/ferry tests/bench/push.sh WORKDIR [RUNS [SIZE-MIB]]
# (SIZE-MIB, default 2048, scales the file down for a smoke run.)
# BENCH_TOOLS="ferry-1 curl" measures only those (for quick iterations).
# shellcheck disable=SC2317 # the run_* functions are called indirectly
set -eu -o pipefail

: "${FERRY:?FERRY must name the ferry binary}"
work=${1:?usage: $0 WORKDIR [RUNS [SIZE-MIB]]}
runs=${2:-3}
size_mib=${3:-2048}
mkdir -p "$work"
work=$(cd "$work" && pwd)
src=$work/random-${size_mib}m.img
size=$((size_mib << 20))
part_size=$((16 * 1024 * 1024))
here=$(cd "$(dirname "$0")" && pwd)

# rgw.sh wants what tap.sh gives a test: a scratch directory and on_exit.
T_DIR=$work/run
# shellcheck source=../lib/cleanup.sh
. "$here/../lib/cleanup.sh"
trap 'eval "$T_ON_EXIT"; rm -rf "$T_DIR"' EXIT
rm -rf "$T_DIR"
mkdir -p "$T_DIR"
# memstore keeps every object in the OSD's RAM: each one is deleted (and
# its tail collected) right after it is measured, so at most one 2 GiB
# object is stored at a time. This is the size the OSD reports, with room
# for a failed upload's leftovers beside a whole object.
RGW_MEMSTORE_BYTES=${RGW_MEMSTORE_BYTES:-$((8 * 1024 * 1024 * 1024))}
. "$here/../s3/lib/rgw.sh"

# Every tool talks to radosgw directly.
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

if [ ! -f "$src" ] || [ "$(stat -c %s "$src")" != "$size" ]; then
	echo "bench: writing $src ($size_mib MiB of random data)" >&2
	head -c "$size" /dev/urandom >"$src.tmp"
	mv "$src.tmp" "$src"
fi
want=$(sha256sum <"$src" | cut -d' ' -f1)

rgw_start
export AWS_ACCESS_KEY_ID=$RGW_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$RGW_SECRET_KEY
echo "radosgw: $RGW_HTTPS (TLS, test CA), memstore $(numfmt --to=iec-i --suffix=B "$RGW_MEMSTORE_BYTES")"

# s3cmd's configuration: path-style requests to the TLS port, SigV4.
cat >"$work/s3cmd.cfg" <<EOF
[default]
access_key = $RGW_ACCESS_KEY
secret_key = $RGW_SECRET_KEY
host_base = 127.0.0.1:$RGW_HTTPS_PORT
host_bucket = 127.0.0.1:$RGW_HTTPS_PORT
bucket_location = $RGW_REGION
use_https = True
check_ssl_certificate = True
check_ssl_hostname = True
ca_certs_file = $RGW_CA
signature_v2 = False
proxy_host =
EOF

# The boto3 contender: upload_file as an application would call it, with
# 16 MiB parts and boto3's default concurrency (10 threads).
cat >"$work/boto3-upload.py" <<'EOF'
import os, sys
os.environ["AWS_CONFIG_FILE"] = os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=os.environ["RGW_HTTPS"], region_name=os.environ["RGW_REGION"],
                  verify=os.environ["RGW_CA"],
                  config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
s3.upload_file(sys.argv[1], os.environ["RGW_BUCKET"], sys.argv[2],
               Config=TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=16 << 20))
EOF

# The objects and unfinished uploads under bench/ are deleted, then the
# garbage collector frees their tails now rather than in two hours.
clean_bucket() {
	rgw_py '
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="bench/"):
    for o in page.get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=o["Key"])
for u in s3.list_multipart_uploads(Bucket=bucket, Prefix="bench/").get("Uploads", []):
    s3.abort_multipart_upload(Bucket=bucket, Key=u["Key"], UploadId=u["UploadId"])'
	radosgw-admin -c "$RGW_CONF" gc process --include-all >/dev/null 2>&1
}

object_size() {
	rgw_py 'print(s3.head_object(Bucket=bucket, Key=sys.argv[1])["ContentLength"])' "$1"
}

# Commands, one per tool; KEY is where the object goes.
run_ferry() {
	"$FERRY" push --endpoint "$RGW_HTTPS" --region "$RGW_REGION" --ca "$RGW_CA" --quiet \
		--parallel "$1" "$src" "s3://$RGW_BUCKET/$2"
}
run_curl() { curl -q -sS --fail -T "$src" --cacert "$RGW_CA" -o /dev/null "$1"; }
run_s3cmd() { s3cmd -c "$work/s3cmd.cfg" --no-progress put "$src" "s3://$RGW_BUCKET/$1"; }
run_boto3() { /usr/bin/python3 -E -s "$work/boto3-upload.py" "$src" "$1"; }
export -f run_ferry run_curl run_s3cmd run_boto3
export FERRY src work RGW_HTTPS RGW_REGION RGW_CA RGW_BUCKET

# measure NAME FUNCTION [ARG]: $runs uploads to bench/NAME; records the
# median throughput (MB/s, 10^6 bytes) and median peak RSS (KiB). A tool
# that fails, or stores anything but the file, is marked failed.
declare -A MBS RSS FAILED
measure() {
	local name=$1 fn=$2 arg=${3:-} i key=bench/$1 times=() rss=() log=$work/time.log t m target got expect
	if [ -n "${BENCH_TOOLS:-}" ] && [[ " $BENCH_TOOLS " != *" $name "* ]]; then
		FAILED[$name]="not run (BENCH_TOOLS)"
		return 0
	fi
	for ((i = 0; i < runs; i++)); do
		clean_bucket
		target=$key
		if [ "$fn" = run_curl ]; then
			target=$(rgw_presign_put "$key" 3600)
		fi
		if ! /usr/bin/time -f '%e %M' -o "$log" bash -c "$fn \"\$@\"" _ ${arg:+"$arg"} "$target" \
			>"$work/$name.out" 2>"$work/$name.err"; then
			echo "bench: $name failed (run $((i + 1))):" >&2
			tail -n 5 "$work/$name.err" >&2
			FAILED[$name]="failed, see $work/$name.err"
			clean_bucket
			return 0
		fi
		read -r t m <"$log"
		# The first run's object is read back whole; later ones by size.
		if [ "$i" = 0 ]; then
			got="SHA-256 $(rgw_sha256 "$key")" expect="SHA-256 $want"
		else
			got="$(object_size "$key") bytes" expect="$size bytes"
		fi
		if [ "$got" != "$expect" ]; then
			echo "bench: $name stored an object of $got, not $expect" >&2
			FAILED[$name]="wrong object"
			clean_bucket
			return 0
		fi
		times+=("$t")
		rss+=("$m")
	done
	clean_bucket
	t=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p")
	MBS[$name]=$(awk -v s="$size" -v t="$t" 'BEGIN { printf "%.1f", s / 1e6 / t }')
	RSS[$name]=$(printf '%s\n' "${rss[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p")
	printf '%-16s %8s MB/s  (times: %s s)  peak RSS %6.1f MiB\n' "$name" "${MBS[$name]}" \
		"${times[*]}" "$(awk -v k="${RSS[$name]}" 'BEGIN { print k / 1024 }')"
}

echo "file: $src, $size bytes, SHA-256 $want"
echo "runs: $runs each, page cache warm; throughput = file size / wall time"
cat "$src" >/dev/null
# The first upload into a fresh radosgw is the slowest (measured: ferry's
# first of three 14.2 s, the next 9.0 and 7.9 s, whichever tool came first
# paying for it): one upload first, not measured.
run_curl "$(rgw_presign_put bench/warm-up 3600)" || { echo "bench: the warm-up upload failed" >&2; exit 1; }
clean_bucket
measure ferry-1 run_ferry 1
measure ferry-4 run_ferry 4
measure curl run_curl
measure s3cmd run_s3cmd
measure boto3 run_boto3

tools="ferry-1 ferry-4 curl s3cmd boto3"
echo
printf '%-16s %10s %14s\n' tool "MB/s" "peak RSS MiB"
for n in $tools; do
	if [ -n "${FAILED[$n]:-}" ]; then
		printf '%-16s %s\n' "$n" "${FAILED[$n]}"
	else
		printf '%-16s %10s %14.1f\n' "$n" "${MBS[$n]}" "$(awk -v k="${RSS[$n]}" 'BEGIN { print k / 1024 }')"
	fi
done

# The best of the other tools that worked.
best=""
for n in curl s3cmd boto3; do
	[ -z "${FAILED[$n]:-}" ] || continue
	if [ -z "$best" ] || awk -v a="${MBS[$n]}" -v b="${MBS[$best]}" 'BEGIN { exit !(a > b) }'; then
		best=$n
	fi
done

fail=0
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
# verdict WHAT GOT OP LIMIT: OP is >= or <=; GOT empty when it could not be
# measured.
verdict() {
	local what=$1 got=$2 op=$3 limit=$4
	if [ -z "$got" ]; then
		printf 'MISS  %-44s not measured (limit %s %s)\n' "$what" "$op" "$limit"
		fail=1
	elif awk -v g="$got" -v l="$limit" -v op="$op" \
		'BEGIN { exit !(op == ">=" ? g >= l : g <= l) }'; then
		printf 'PASS  %-44s %s (limit %s %s)\n' "$what" "$got" "$op" "$limit"
	else
		printf 'MISS  %-44s %s (limit %s %s)\n' "$what" "$got" "$op" "$limit"
		fail=1
	fi
}
ok_tool() { [ -z "${FAILED[$1]:-}" ]; }
mib() { awk -v k="${RSS[$1]}" 'BEGIN { printf "%.1f", k / 1024 }'; }

echo
if ok_tool ferry-1 && ok_tool curl; then r1=$(ratio "${MBS[ferry-1]}" "${MBS[curl]}"); else r1=""; fi
verdict "ferry --parallel 1 / curl throughput" "$r1" ">=" 0.9
if ok_tool ferry-4 && [ -n "$best" ]; then r4=$(ratio "${MBS[ferry-4]}" "${MBS[$best]}"); else r4=""; fi
verdict "ferry --parallel 4 / best other (${best:-none})" "$r4" ">=" 1.0
if ok_tool ferry-1; then m1=$(mib ferry-1); else m1=""; fi
verdict "ferry --parallel 1 peak RSS (MiB)" "$m1" "<=" $((64 + 1 * part_size / 1048576))
if ok_tool ferry-4; then m4=$(mib ferry-4); else m4=""; fi
verdict "ferry --parallel 4 peak RSS (MiB)" "$m4" "<=" $((64 + 4 * part_size / 1048576))
exit "$fail"
