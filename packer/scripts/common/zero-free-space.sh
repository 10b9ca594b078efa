#!/bin/sh
# Fill free space with zeros and delete the file: the qcow2 conversion and the box's
# compression then skip those blocks. A full disk ends dd; that is the point.
set -eu
dd if=/dev/zero of=/var/tmp/zero bs=1M 2>/dev/null || true
rm -f /var/tmp/zero
sync
