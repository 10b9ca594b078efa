#!/bin/sh
# Build-time check that the stand-in's XenAPI answers: the right password logs in,
# a wrong one is refused. A box that fails this is never packaged. /usr/bin/python3
# by its full path: python3 on PATH is the stand-in dom0's recording shim.
set -eu
/usr/bin/python3 - <<'PY'
import sys, time, xmlrpc.client

with open("/etc/xenlab-sim/password") as fh:
    password = fh.read().strip()
server = xmlrpc.client.ServerProxy("http://127.0.0.1:80/")
for attempt in range(120):  # bounded: about 2 min for the simulator to listen under TCG
    try:
        good = server.session.login_with_password("root", password, "2.1", "xenlab-smoke")
        break
    except OSError:
        time.sleep(1)
else:
    sys.exit("smoke test: the stand-in's XAPI (xapi.service) did not answer on port 80 within 120 s")
if good.get("Status") != "Success":
    sys.exit(f"smoke test: the lab password was refused: {good.get('ErrorDescription')}")
bad = server.session.login_with_password("root", password + "-wrong", "2.1", "xenlab-smoke")
if bad.get("Status") != "Failure":
    sys.exit("smoke test: a wrong password was accepted")
server.session.logout(good["Value"])
print("smoke test: stand-in XenAPI simulator answers on port 80 (login ok, wrong password refused)")
PY
