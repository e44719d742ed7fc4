# A throwaway Ceph radosgw (S3) on 127.0.0.1 for Ferry's tests: one mon, one
# memstore OSD and radosgw with HTTP and HTTPS (test CA), all under $T_DIR.
#
# Source after tests/lib/tap.sh, then call rgw_start in the test's main shell
# (not in $(...) or a pipeline: the daemons are its children and die with it).
# One server per test. rgw_start exports:
#   RGW_HTTP RGW_HTTPS        http(s)://127.0.0.1:PORT
#   RGW_HOST_HTTPS            https://s3.test:PORT (needs a resolve override)
#   RGW_HTTPS_PORT            the port alone, for curl --resolve s3.test:PORT:127.0.0.1
#   RGW_CA                    PEM of the test CA that signed the server cert
#   RGW_ACCESS_KEY RGW_SECRET_KEY RGW_BUCKET RGW_REGION
#   RGW_CONF                  the cluster's ceph.conf (ceph -c "$RGW_CONF" -s)
#   RGW_PIDS                  PIDs of ceph-mon, ceph-osd and radosgw
# and registers rgw_stop with on_exit. RGW_START_TIMEOUT (seconds, default
# 60) bounds the start; RGW_MEMSTORE_BYTES the OSD's size (default 2 GiB).
# shellcheck shell=bash

RGW_ACCESS_KEY=FERRYTESTACCESSKEY01
RGW_SECRET_KEY=ferry/test/secret/key/0123456789abcdefgh
RGW_BUCKET=ferry-test
RGW_PIDS=""
_RGW_NAMES=""
RGW_START_TIMEOUT=${RGW_START_TIMEOUT:-60}
# memstore keeps objects in the OSD's RAM; this is only the size it reports,
# which bounds what the tests may store before the OSD counts as full.
RGW_MEMSTORE_BYTES=${RGW_MEMSTORE_BYTES:-2147483648}
export RGW_ACCESS_KEY RGW_SECRET_KEY RGW_BUCKET

# Three distinct free ports below the ephemeral range, so that no outgoing
# connection takes one between the check here and the daemon's bind.
_rgw_pick_ports() {
	/usr/bin/python3 -E -s -c '
import random, socket
ports = []
while len(ports) < 3:
    p = random.randint(20000, 32000)
    if p in ports:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        ports.append(p)
    except OSError:
        pass
    finally:
        s.close()
print(*ports)'
}

_rgw_write_conf() {
	local d=$1 fsid=$2 mon_port=$3 http_port=$4 https_port=$5
	cat >"$d/ceph.conf" <<EOF
# Throwaway cluster made by tests/s3/lib/rgw.sh; nothing here is shared.
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
# A port taken since _rgw_pick_ports fails at once; rgw_start retries.
ms bind retry count = 1
ms bind retry delay = 0
# No cephx inside the cluster: S3 SigV4 is checked by radosgw regardless.
auth cluster required = none
auth service required = none
auth client required = none
# radosgw defaults to "secure" mon connections, which need cephx.
ms mon client mode = crc
mon warn on insecure global id reclaim allowed = false
# Every path the daemons and tools use is under $d: never /etc/ceph or /var.
keyring = $d/keyring
run dir = $d/run
crash dir = $d/crash
admin socket =
log file = $d/log/\$name.log
mon cluster log file = $d/log/cluster.log
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 1
osd pool default pgp num = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0
osd crush chooseleaf type = 0
# Each pool radosgw creates is one map change; do not batch them for 1 s.
paxos propose interval = 0.01
paxos min wait = 0.001
client mount timeout = $RGW_START_TIMEOUT
rgw init timeout = $RGW_START_TIMEOUT

[mon]
mon data = $d/mon

[osd]
osd data = $d/osd
osd objectstore = memstore
memstore device bytes = $RGW_MEMSTORE_BYTES
# The OSD is already in the CRUSH map made by osdmaptool.
osd crush update on start = false

[client.rgw]
rgw data = $d/rgw
# radosgw's first requests may go out before the OSD is up; it then waits for
# the objecter's next tick (5 s by default) to resend them.
objecter tick interval = 0.5
rgw dns name = s3.test
rgw frontends = beast endpoint=127.0.0.1:$http_port ssl_endpoint=127.0.0.1:$https_port ssl_certificate=$d/tls/server.pem ssl_private_key=$d/tls/server.key
EOF
}

# A CA and a server certificate for s3.test, *.s3.test and 127.0.0.1.
_rgw_make_tls() {
	local t=$1/tls
	mkdir -p "$t" || return 1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$t/ca.key" -out "$t/ca.pem" -days 7 -subj "/CN=Ferry test CA" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" &&
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout "$t/server.key" -out "$t/server.csr" -subj "/CN=s3.test" &&
		printf '%s\n' "subjectAltName=DNS:s3.test,DNS:*.s3.test,IP:127.0.0.1" \
			"basicConstraints=CA:FALSE" "extendedKeyUsage=serverAuth" >"$t/server.ext" &&
		openssl x509 -req -in "$t/server.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" \
			-CAcreateserial -days 7 -extfile "$t/server.ext" -out "$t/server.pem"
}

# _rgw_daemon NAME COMMAND...: start a daemon in the foreground as our child;
# it gets SIGKILL if this shell dies without running its exit trap.
_rgw_daemon() {
	local name=$1
	shift
	setpriv --pdeathsig KILL -- "$@" -c "$RGW_CONF" -f >"$RGW_DIR/log/$name.out" 2>&1 &
	RGW_PIDS="${RGW_PIDS:+$RGW_PIDS }$!"
	_RGW_NAMES="${_RGW_NAMES:+$_RGW_NAMES }$1"	# the program, for messages
}

# _rgw_alive: true while every daemon runs; else names the first that exited.
_rgw_alive() {
	local pid names=$_RGW_NAMES
	for pid in $RGW_PIDS; do
		if ! kill -0 "$pid" 2>/dev/null; then
			_RGW_DEAD="${names%% *} (PID $pid)"
			return 1
		fi
		names=${names#* }
	done
}

# _rgw_wait WHAT COMMAND...: poll until COMMAND succeeds; 1 on timeout, 2 if
# a daemon exited meanwhile.
_rgw_wait() {
	local what=$1 end=$((SECONDS + RGW_START_TIMEOUT))
	shift
	until "$@" >/dev/null 2>&1; do
		if ! _rgw_alive; then
			RGW_ERROR="$_RGW_DEAD exited while waiting for $what"
			return 2
		fi
		if [ "$SECONDS" -ge "$end" ]; then
			RGW_ERROR="timed out after ${RGW_START_TIMEOUT}s waiting for $what"
			return 1
		fi
		sleep 0.05
	done
}

_rgw_port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# One attempt at a whole cluster; returns 2 when a daemon died, which is
# worth one more try on fresh ports (the usual cause is a port taken since
# _rgw_pick_ports).
_rgw_try_start() {
	RGW_ERROR=""
	local d=$RGW_DIR fsid ports mon_port http_port https_port out
	if ! { rm -rf "$d" && mkdir -p "$d/log" "$d/run" "$d/crash" "$d/mon" "$d/osd" "$d/rgw"; }; then
		RGW_ERROR="cannot create $d"
		return 1
	fi
	fsid=$(cat /proc/sys/kernel/random/uuid) || { RGW_ERROR="no UUID from the kernel"; return 1; }
	ports=$(_rgw_pick_ports) || { RGW_ERROR="cannot pick free ports"; return 1; }
	read -r mon_port http_port https_port <<<"$ports"
	_rgw_write_conf "$d" "$fsid" "$mon_port" "$http_port" "$https_port" ||
		{ RGW_ERROR="cannot write $RGW_CONF"; return 1; }
	out=$(_rgw_make_tls "$d" 2>&1) || { RGW_ERROR="openssl failed: $out"; return 1; }

	# The OSD map is made offline with osd.0 already in CRUSH, which saves
	# the map changes of "ceph osd new" and the OSD's crush update.
	out=$( { monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" "$d/monmap" &&
		osdmaptool -c "$RGW_CONF" --createsimple 1 --pg-bits 0 --pgp-bits 0 "$d/osdmap" &&
		ceph-mon -c "$RGW_CONF" -i a --mkfs --monmap "$d/monmap" --osdmap "$d/osdmap" &&
		ceph-osd -c "$RGW_CONF" -i 0 --mkfs --no-mon-config \
			--osd-uuid "$(cat /proc/sys/kernel/random/uuid)"; } 2>&1) ||
		{ RGW_ERROR="cluster mkfs failed: $out"; return 1; }

	_rgw_daemon mon ceph-mon -i a
	_rgw_wait "ceph-mon on port $mon_port" _rgw_port_open "$mon_port" || return
	_rgw_daemon osd ceph-osd -i 0
	# radosgw queues its first RADOS requests until the OSD is up.
	_rgw_daemon rgw radosgw -n client.rgw
	_rgw_wait "radosgw to answer on http://127.0.0.1:$http_port" \
		curl -q -sf --noproxy '*' --max-time 2 -o /dev/null "http://127.0.0.1:$http_port/" || return

	out=$(radosgw-admin -c "$RGW_CONF" user create --uid=ferry --display-name="Ferry tests" \
		--access-key="$RGW_ACCESS_KEY" --secret-key="$RGW_SECRET_KEY" 2>&1) ||
		{ RGW_ERROR="radosgw-admin user create failed: $out"; return 1; }

	RGW_HTTP=http://127.0.0.1:$http_port
	RGW_HTTPS=https://127.0.0.1:$https_port
	RGW_HOST_HTTPS=https://s3.test:$https_port
	RGW_HTTPS_PORT=$https_port
	RGW_CA=$d/tls/ca.pem
	RGW_REGION=default
	export RGW_HTTP RGW_HTTPS RGW_HOST_HTTPS RGW_HTTPS_PORT RGW_CA RGW_REGION RGW_CONF
	# The bucket's location is the zonegroup's api_name: the region to sign
	# with and the only LocationConstraint radosgw accepts.
	out=$(rgw_py '
s3.create_bucket(Bucket=os.environ["RGW_BUCKET"])
print(s3.get_bucket_location(Bucket=os.environ["RGW_BUCKET"])["LocationConstraint"] or "us-east-1")' \
		2>"$d/log/bucket.err") || { RGW_ERROR="creating bucket $RGW_BUCKET failed"; return 1; }
	RGW_REGION=$out
}

_rgw_report() {
	local f
	echo "rgw_start: $RGW_ERROR" >&2
	for f in "$RGW_DIR"/log/*; do
		if [ ! -s "$f" ] || [ "${f##*/}" = cluster.log ]; then
			continue
		fi
		echo "--- tail of $f" >&2
		tail -n 12 "$f" >&2
	done
}

# rgw_start: start the cluster and radosgw, create the user and the bucket.
rgw_start() {
	local attempt=1 rc
	RGW_DIR=$T_DIR/ceph
	RGW_CONF=$RGW_DIR/ceph.conf
	RGW_ERROR=""
	on_exit rgw_stop
	while :; do
		rc=0
		_rgw_try_start || rc=$?
		[ "$rc" = 0 ] && return 0
		if [ "$rc" != 2 ] || [ "$attempt" -ge 3 ]; then
			_rgw_report
			rgw_stop
			return 1
		fi
		rgw_stop
		attempt=$((attempt + 1))
	done
}

# rgw_stop: SIGKILL every daemon rgw_start started and reap it. Their data
# lives in RAM and under $T_DIR, which tap.sh removes.
rgw_stop() {
	local pid
	for pid in $RGW_PIDS; do
		kill -KILL "$pid" 2>/dev/null || continue
	done
	for pid in $RGW_PIDS; do
		wait "$pid" 2>/dev/null || continue
	done
	RGW_PIDS=""
	_RGW_NAMES=""
	return 0
}

# Python run by rgw_py before the caller's code: `s3` is a boto3 client for
# the HTTPS endpoint; client() makes others (wrong secret, other endpoint).
_RGW_PRELUDE='
import hashlib, os, sys
for _k in [k for k in os.environ if k.startswith("AWS_") or k.lower().endswith("_proxy")]:
    del os.environ[_k]
os.environ["AWS_CONFIG_FILE"] = os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
import boto3, botocore
from botocore.config import Config
from botocore.exceptions import ClientError

def client(endpoint=None, secret=None, access=None, region=None, verify=None, style="path"):
    return boto3.client("s3", endpoint_url=endpoint or os.environ["RGW_HTTPS"],
        aws_access_key_id=access or os.environ["RGW_ACCESS_KEY"],
        aws_secret_access_key=secret or os.environ["RGW_SECRET_KEY"],
        region_name=region or os.environ["RGW_REGION"],
        verify=os.environ["RGW_CA"] if verify is None else verify,
        config=Config(signature_version="s3v4", s3={"addressing_style": style},
                      retries={"max_attempts": 1}, connect_timeout=10, read_timeout=60))

s3 = client()
bucket = os.environ["RGW_BUCKET"]

def sha256(key, bkt=None):
    h = hashlib.sha256()
    for chunk in s3.get_object(Bucket=bkt or bucket, Key=key)["Body"].iter_chunks(1 << 20):
        h.update(chunk)
    return h.hexdigest()
'

# rgw_py [CODE|-] [ARG...]: run CODE (or stdin) with /usr/bin/python3 after
# the prelude above; ARGs are in sys.argv[1:].
rgw_py() {
	local code
	if [ $# = 0 ] || [ "$1" = - ]; then
		code=$(cat)
	else
		code=$1
	fi
	[ $# = 0 ] || shift
	/usr/bin/python3 -E -s -c "$_RGW_PRELUDE$code" "$@"
}

# rgw_sha256 KEY [BUCKET]: SHA-256 of an object, read back through boto3.
rgw_sha256() {
	rgw_py 'print(sha256(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))' "$@"
}

# rgw_get KEY FILE [BUCKET]: download an object.
rgw_get() {
	rgw_py 's3.download_file(sys.argv[3] if len(sys.argv) > 3 else bucket, sys.argv[1], sys.argv[2])' "$@"
}

# rgw_keys [BUCKET]: "KEY SIZE" per object.
rgw_keys() {
	rgw_py '
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=sys.argv[1] if len(sys.argv) > 1 else bucket):
    for o in page.get("Contents", []):
        print(o["Key"], o["Size"])' "$@"
}

# rgw_uploads [BUCKET]: "KEY UPLOAD-ID" per multipart upload in progress.
# shellcheck disable=SC2120 # BUCKET is optional: the calls here leave it out
rgw_uploads() {
	rgw_py '
r = s3.list_multipart_uploads(Bucket=sys.argv[1] if len(sys.argv) > 1 else bucket)
for u in r.get("Uploads", []):
    print(u["Key"], u["UploadId"])' "$@"
}

# rgw_parts_settled KEY UPLOAD-ID: how many parts the upload holds, once
# the number has stopped changing (after a client was killed, radosgw or a
# proxy may still be storing a part it had sent).
rgw_parts_settled() {
	local n prev=-1
	n=$(rgw_parts "$1" "$2" | wc -l)
	while [ "$n" != "$prev" ]; do
		sleep 1
		prev=$n
		n=$(rgw_parts "$1" "$2" | wc -l)
	done
	echo "$n"
}

# rgw_kill_at_parts PID KEY N: waits (up to about a minute) until the
# unfinished upload of KEY holds N parts, then kills PID (SIGKILL) and
# reaps it; the upload's id is left in RGW_UPLOAD ("" if none appeared).
# Call it in the shell that started PID (not in $(...)): only that shell
# can reap it.
rgw_kill_at_parts() {
	local pid=$1 key=$2 n=$3
	RGW_UPLOAD=""
	for _ in $(seq 1 300); do
		RGW_UPLOAD=$(rgw_uploads | awk -v k="$key" '$1 == k {print $2}')
		if [ -n "$RGW_UPLOAD" ] && [ "$(rgw_parts "$key" "$RGW_UPLOAD" | wc -l)" -ge "$n" ]; then
			break
		fi
		sleep 0.2
	done
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || :
}

# rgw_parts KEY UPLOAD-ID [BUCKET]: "NUMBER SIZE ETAG" per uploaded part.
rgw_parts() {
	rgw_py '
kw = dict(Bucket=sys.argv[3] if len(sys.argv) > 3 else bucket, Key=sys.argv[1], UploadId=sys.argv[2])
for p in s3.get_paginator("list_parts").paginate(**kw):
    for part in p.get("Parts", []):
        print(part["PartNumber"], part["Size"], part["ETag"].strip("\""))' "$@"
}

# rgw_credentials FILE [SECRET]: the test user's key pair as an AWS
# shared-credentials file (SECRET: another secret key, a wrong one).
rgw_credentials() {
	printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
		"$RGW_ACCESS_KEY" "${2:-$RGW_SECRET_KEY}" >"$1"
}

# rgw_presign_put KEY [EXPIRES-SECONDS [ENDPOINT]]: a presigned PUT URL.
rgw_presign_put() {
	rgw_py '
c = client(endpoint=sys.argv[3]) if len(sys.argv) > 3 else s3
print(c.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": sys.argv[1]},
      ExpiresIn=int(sys.argv[2]) if len(sys.argv) > 2 else 3600))' "$@"
}
