#!/bin/bash
# make check: the test tiers one after another, each timed. A failing tier
# does not stop the ones after it; the run ends with one line per tier and
# its wall time ("tier unit 40 s"), and exits 1 when any tier failed.
# usage: support/tiers.sh NAME=COMMAND...   (COMMAND runs with bash -c)
set -u

summary=()
failed=""
t_all=$SECONDS
for tier in "$@"; do
	name=${tier%%=*}
	cmd=${tier#*=}
	echo "== tier $name: $cmd"
	t0=$SECONDS
	rc=0
	bash -c "$cmd" || rc=$?
	line="tier $name $((SECONDS - t0)) s"
	if [ "$rc" != 0 ]; then
		line="$line FAILED (exit $rc)"
		failed="$failed $name"
	fi
	summary+=("$line")
	echo "== $line"
done
echo
printf '%s\n' "${summary[@]}"
echo "tiers total $((SECONDS - t_all)) s"
if [ -n "$failed" ]; then
	echo "failed tiers:$failed"
	exit 1
fi
