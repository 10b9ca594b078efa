"""A XenAPI simulator: the real wire protocol over HTTP, backed by an object store.

Standard library only: the stand-in box copies this package (with
xenlab/plugin_pickle.py) into a Debian guest that has python3 and nothing else,
and serves it on port 80 in place of XAPI. It models an XCP-ng 8.3 host (seed.py
says where each version comes from) and names itself a stand-in (product_brand),
never XenServer.

    xapitypes.py XenAPI's wire types, checked and failed as XAPI's rpclib does
    schema.py    the classes and the modelled fields' types
    store.py     the object store {class: {ref: record}}, its generic methods, its change log
    where.py     the get_all_records_where expression language
    seed.py      the records of a host: a configured pool, or a first-boot database
    sessions.py  sessions and XAPI's expiry rules
    registry.py  the table of messages with behaviour, which these modules fill:
    messages.py    host, PIF, SR.create, pool (PIF.scan, host.call_plugin, ...)
    vm.py          VM.create, the power-state machine, allowed_operations, VM.destroy
    storage.py     VDIs as VHD files of a file SR, SR.scan, sm's garbage collector, accounting
    devices.py     VBD, VIF, network
    tasks.py       task.*, event.from
    memory.py    memory_check.ml's free memory and memory.ml's domain overheads
    vhd.py       VHD files read and written as vhd-util does (the stand-in has no vhd-util)
    dom0.py      dom0 while guests run: xenstore, network devices, console logs (not saved)
    machine.py   what those messages do to the machine (--guest), or nothing; where SRs keep files
    plugins.py   host.call_plugin: os-xenapi's dom0 plugins, one function table per plugin file
    glance.py    the glance.py plugin's HTTP transfers and VHD import/export
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
    --sr-root DIR                 without --guest: file SRs' VHD files go under DIR/<sr uuid> (default: a
                                  temporary directory removed at stop)
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
SR.create; pool.sync_database, enable_tls_verification; VM.create, destroy, start,
start_on, clean_shutdown, hard_shutdown, shutdown, clean_reboot, hard_reboot, pause,
unpause, suspend, resume, resume_on, set_blocked_operations,
add_to_blocked_operations, remove_from_blocked_operations; VDI.create, destroy,
snapshot, clone, copy, resize; VBD.create, destroy, plug, unplug, unplug_force,
insert, eject; VIF.create, destroy, plug, unplug, unplug_force; network.create,
destroy; task.create, destroy, cancel, set_status, set_progress; event.from.
Plugins answered: dom0_plugin_version.py, xenhost.py (host_data, host_uptime,
get_pci_device_details, get_pci_type, network_config), bandwidth.py, glance.py
(download_vhd2, upload_vhd2), xenstore.py, console.py, netwrap.py (run_command).

No guest runs: a started VM is a domain ID, its xenstore, its attached devices and a
console log that says it is simulated; the host's memory and the SR's files follow.
"""

BRAND = "xenlab-standin"
