"""A XenAPI simulator: the real wire protocol over HTTP, backed by an object store.

Standard library only: the stand-in box copies this package (with
xenlab/plugin_pickle.py) into a Debian guest that has python3 and nothing else,
and serves it on port 80 in place of XAPI. It models an XCP-ng 8.3 host (seed.py
says where each version comes from) and names itself a stand-in (product_brand),
never XenServer.

    xapitypes.py XenAPI's wire types, checked and failed as XAPI's rpclib does
    schema.py    the classes and the modelled fields' types
    store.py     the object store {class: {ref: record}} and its generic methods
    where.py     the get_all_records_where expression language
    seed.py      the records of a host: a configured pool, or a first-boot database
    sessions.py  sessions and XAPI's expiry rules
    messages.py  messages with behaviour (PIF.scan, SR.create, host.call_plugin, ...)
    machine.py   what those messages do to the machine (--guest), or nothing
    plugins.py   host.call_plugin: os-xenapi's dom0 plugins answered from the records
    api.py       dispatch: types, sessions, error codes, call counts, persistence
    statedb.py   --state-db and /etc/xensource-inventory
    server.py    XML-RPC over HTTP on TCP and on a Unix socket (POST /cli: xe)
    records.py, xe_server.py  xe's records, parsing, printing and errors
    xe           the xe client the stand-in installs (python3 by absolute path)

Command line (`python3 -m xenlab.sim`, see --help):

    --bind ADDR --port N          TCP listener (default 127.0.0.1:8080; the stand-in: 0.0.0.0:80)
    --user NAME --password-file F the one login over TCP (over the Unix socket, local root needs none)
    --plugin-dir DIR              installed dom0 plugins (e.g. /etc/xapi.d/plugins)
    --management-ip IP            the host's address in the records
    --pool-size N                 hosts in the seeded pool (1-1024)
    --state-db PATH               objects (not sessions) saved atomically after every change, loaded at
                                  start; absent file = a first-boot database: pool, host and control domain
                                  with the inventory's INSTALLATION_UUID / CONTROL_DOMAIN_UUID, host metrics,
                                  SMs (ext, udev, iso), no PIF, no SR
    --inventory PATH              the inventory for --state-db (default /etc/xensource-inventory)
    --cli-socket PATH             XenAPI and xe over a Unix socket, mode 0600 (XAPI's: /var/lib/xcp/xapi)
    --cli-ignored-log PATH        every parameter an xe command ignored, one line each: `<time> <command> <name>`
    --init-complete-cookie PATH   created once serving, removed on stop (/var/run/xapi_init_complete.cookie,
                                  which xapi-wait-init-complete polls)
    --guest [--guest-root DIR]    this machine is the host (machine.py); --guest-root: act on DIR, log commands
    --verbose                     log every request to stderr

Without --state-db, --cli-socket and --guest it serves a seeded pool on loopback,
for tests and `invoke sim`. Exit codes: 0 stopped, 2 bad option or database, 3
cannot listen.

The xe client: xenlab/sim/xe (in the stand-in payload: <payload>/xenlab/sim/xe),
a stdlib-only python3 script with `#!/usr/bin/python3 -S`; install it as `xe` on
the scripts' PATH. It talks to $XENLAB_XE_SOCKET (default /var/lib/xcp/xapi), so
the simulator must run with `--cli-socket /var/lib/xcp/xapi`. Commands: pif-scan,
pif-reconfigure-ip, pif-reconfigure-ipv6, pif-plug, pif-unplug,
host-management-reconfigure, host-set-hostname-live, host-disable, host-enable,
host-enable-local-storage-caching, sr-create, pool-sync-database,
pool-enable-tls-verification, event-wait, help, and <class>-list / -param-list /
-param-get / -param-set / -param-add / -param-remove / -param-clear for pif, host, sr,
pool, sm, network, pbd. Anything else is "Unknown command", exit 1.

XenAPI messages beyond the generic ones: session.login_with_password,
slave_local_login_with_password, logout, local_logout; host.call_plugin,
compute_free_memory, get_management_interface, set_hostname_live,
management_reconfigure, disable, enable, enable_local_storage_caching; PIF.scan,
reconfigure_ip, reconfigure_ipv6, plug, unplug, set_disallow_unplug; SR.scan,
SR.create; pool.sync_database, enable_tls_verification.
"""

BRAND = "xenlab-standin"
