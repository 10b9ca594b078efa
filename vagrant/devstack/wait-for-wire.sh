#!/bin/sh
# Wait, bounded, until the host has handed this machine wire's files.
#
# A plain `vagrant up` boots both machines at once; wire runs on the host only
# after the xenserver machine is up. The devstack machine's before-up trigger
# leaves WIRE-PENDING in the synced staging folder when wire is still to come;
# the xenserver machine's trigger pushes wire's files (`vagrant rsync devstack`),
# then pushes again without WIRE-PENDING, or with WIRE-FAILED and the reason.
# With no WIRE-PENDING (xenlab drove Vagrant, or wire was already current) this
# returns at once.
# Usage: XENLAB_STAGING=<dir> [XENLAB_WIRE_WAIT_S=<bound>] wait-for-wire.sh
set -eu
: "${XENLAB_STAGING:?}"
files=$XENLAB_STAGING/devstack
bound=${XENLAB_WIRE_WAIT_S:-1800}
step=${XENLAB_WIRE_POLL_S:-2}

failed() {
  # One line: the reason the host wrote, without its newlines.
  printf 'xenlab: wire did not finish on the host, so this machine cannot be provisioned: %s\n' \
    "$(head -c 400 "$files/WIRE-FAILED" | tr '\n' ' ' | sed 's/ *$//')" >&2
  exit 1
}

waited=0
while [ -e "$files/WIRE-PENDING" ]; do
  [ -e "$files/WIRE-FAILED" ] && failed
  if [ "$waited" -ge "$bound" ]; then
    echo "xenlab: wire's files did not arrive within $bound s (is the xenserver machine coming up?):" \
      "run \`invoke wire\`, then \`vagrant provision devstack\`" >&2
    exit 1
  fi
  if [ $((waited % 30)) -lt "$step" ]; then
    echo "xenlab: waiting for wire on the host (the xenserver machine comes up beside this one): ${waited} s"
  fi
  sleep "$step"
  waited=$((waited + step))
done
[ -e "$files/WIRE-FAILED" ] && failed
if [ "$waited" -gt 0 ]; then echo "xenlab: wire's files arrived after ${waited} s"; fi
exit 0
