"""A XenAPI simulator: the real wire protocol over HTTP, backed by an object store.

Standard library only: the stand-in box copies this package into a Debian guest
that has python3 and nothing else, and serves it on port 80 in place of XAPI.

    store.py    the object store {class: {ref: record}} and its generic methods
    seed.py     the records of a realistic host (pool, host, dom0, SR, networks)
    plugins.py  host.call_plugin: plugins installed in a plugin directory on disk
    api.py      sessions, dispatch, error codes, call counting
    server.py   XML-RPC over HTTP (POST on / and /RPC2)

It names itself a stand-in (product_brand) and never claims to be XenServer.
"""

BRAND = "xenlab-standin"
