#!/bin/bash
# A local image gets its manifest beside it, IMAGE.ferry.json, as an upload
# does in the bucket: its SHA-256 is sha256sum's of the file (holes of a raw
# image too), its format and virtual size qemu-img's; standard output and a
# FIFO get none; --overwrite replaces an old one; a manifest that cannot be
# written fails the command, the image staying.
. "$(dirname "$0")/../lib/tap.sh"
. "$TESTS_DIR/lib/fixture.sh"

plan 17

disk=$T_DIR/disk.img
fx_server_disk "$disk"
src_sha=$(sha "$disk")
field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(*[d.get(k) for k in sys.argv[2:]])' "$@"; }

for fmt in qcow2 raw; do
	img=$T_DIR/web01.$fmt
	"$FERRY" capture --quiet --json --format "$fmt" "$disk" "$img" >"$T_DIR/$fmt.json"
	check_eq "$fmt: the manifest beside it has the file's SHA-256 (sha256sum)" \
		"$(sha256sum "$img" | cut -d' ' -f1)" "$(field "$img.ferry.json" sha256)"
	check_eq "$fmt: ... its format and virtual size as qemu-img reads them" \
		"$(qemu-img info --output=json "$img" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["format"], d["virtual-size"])')" \
		"$(field "$img.ferry.json" format virtual_size)"
	check_eq "$fmt: ... the object as given, when it was written, no upload" \
		"$img True None" \
		"$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["object"], "finished" in d["written"], d.get("upload"))' "$img.ferry.json")"
done
check_eq "--json's sha256 is the manifest's" "$(field "$T_DIR/web01.raw.ferry.json" sha256)" \
	"$(field "$T_DIR/raw.json" sha256)"
check "the manifest's checks are valid against the schema" \
	python3 "$TESTS_DIR/lib/schema.py" "$T_DIR/web01.qcow2.ferry.json" capture_checks checks
check_match "the report names the manifest" "^  sha256 [0-9a-f]{64}; manifest $T_DIR/x.qcow2.ferry.json$" \
	"$("$FERRY" capture --format qcow2 "$disk" "$T_DIR/x.qcow2" 2>/dev/null)"

# Nowhere beside: standard output and a FIFO.
mkdir "$T_DIR/out"
(cd "$T_DIR/out" && "$FERRY" capture --quiet --format qcow2 "$disk" - >/dev/null)
check_eq "standard output: no manifest" "" "$(ls "$T_DIR/out")"
mkfifo "$T_DIR/out/fifo"
cat "$T_DIR/out/fifo" >/dev/null &
"$FERRY" capture --quiet --json --format qcow2 "$disk" "$T_DIR/out/fifo" >"$T_DIR/fifo.json"
wait
check_eq "a FIFO: no manifest, and --json's sha256 is null" "fifo None" \
	"$(ls "$T_DIR/out") $(field "$T_DIR/fifo.json" sha256)"

# --overwrite: the image and its manifest replaced.
echo stale >"$T_DIR/web01.qcow2.ferry.json"
check_fails "without --overwrite an existing image is refused" 1 "already exists" \
	"$FERRY" capture --quiet --format qcow2 "$disk" "$T_DIR/web01.qcow2"
check_eq "... its manifest left as it is" stale "$(cat "$T_DIR/web01.qcow2.ferry.json")"
"$FERRY" capture --quiet --overwrite --format qcow2 "$disk" "$T_DIR/web01.qcow2"
check_eq "--overwrite: a manifest of the new image" "$(sha256sum "$T_DIR/web01.qcow2" | cut -d' ' -f1)" \
	"$(field "$T_DIR/web01.qcow2.ferry.json" sha256)"

# A manifest that cannot be written: a directory in its place.
mkdir "$T_DIR/blocked.qcow2.ferry.json"
check_fails "a manifest that cannot be written fails the command" 1 \
	"the image is written, but not its manifest" \
	"$FERRY" capture --quiet --format qcow2 "$disk" "$T_DIR/blocked.qcow2"
check "... the image stays, whole" qemu-img check -q "$T_DIR/blocked.qcow2"
check_eq "the source disk is unchanged" "$src_sha" "$(sha "$disk")"
done_testing
