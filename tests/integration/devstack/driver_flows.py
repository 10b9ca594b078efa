"""The XenAPI driver's paths beyond the probe's lifecycle, traced: a spawn that downloads the
image into the cache, a second instance spawned from the cached image, one spawned with
`cache_images = none`, suspend and resume, get_info, get_console_output, destroy.

Run as the probe runs (Debian's python3 -S, the probe's install tree):
    python3 -S driver_flows.py NOVA_PROBE_SCRIPT TREE NOVA_CONF
It prints one JSON document: {"flows": [{"name", "ok", "error"?, "calls": {method: count}}],
"states": {when: power state}, "sr_vdis_left": VDIs the flows made that are still there}. It uses the probe's own setup and helpers
(load_nova, new_instance, pick_image), so what it drives is what the probe drives.
"""

import importlib.util
import json
import sys


def main(script, tree, config_file):
    spec = importlib.util.spec_from_file_location("nova_probe", script)
    probe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe)
    nova = probe.load_nova(tree, config_file)
    calls = nova.calls
    calls.step = "setup"
    drv = nova.driver_class(nova.virtapi())
    drv.init_host(nova.conf.host)

    from nova import context as nova_context
    from nova.compute import power_state
    from nova.image import glance
    from nova.virt.xenapi import vm_utils

    ctx = nova_context.RequestContext(user_id=probe.USER, project_id=probe.PROJECT, is_admin=True,
                                      auth_token=probe.NOAUTH_TOKEN)
    image = probe.pick_image(glance.API(), ctx)
    session = drv._session
    session.call_plugin("netwrap.py", "run_command",
                        {"cmd": json.dumps(["ovs-vsctl", "--may-exist", "add-br", "br-int"])})
    made = {name: probe.new_instance(nova, ctx, image, name) for name in ("flow-a", "flow-b", "flow-c")}
    sr = vm_utils.safe_find_sr(session)
    session.call_xenapi("SR.scan", sr)
    before = set(session.call_xenapi("SR.get_VDIs", sr))

    def spawn(name):
        instance, meta, network_info, allocations, _ = made[name]
        drv.spawn(ctx, instance, meta, [], None, allocations, network_info)

    def uncached():
        nova.conf.set_override("cache_images", "none", group="xenserver")
        try:
            spawn("flow-c")
        finally:
            nova.conf.clear_override("cache_images", group="xenserver")

    def info(name):
        return power_state.STATE_MAP[drv.get_info(made[name][0]).state]

    flows = [
        ("spawn-download", lambda: spawn("flow-a")),
        ("spawn-cached", lambda: spawn("flow-b")),
        ("spawn-uncached", uncached),
        ("suspend", lambda: drv.suspend(ctx, made["flow-b"][0])),
        ("get_info", lambda: info("flow-b")),
        ("resume", lambda: drv.resume(ctx, made["flow-b"][0], made["flow-b"][2])),
        ("get_console_output", lambda: drv.get_console_output(ctx, made["flow-b"][0]).decode()),
        ("destroy", lambda: [drv.destroy(ctx, made[n][0], made[n][2]) for n in made]),
        ("destroy_cached_images", lambda: sorted(vm_utils.destroy_cached_images(
            session, vm_utils.safe_find_sr(session), all_cached=True))),
    ]
    out, states = [], {}
    for name, action in flows:
        calls.step = name
        entry = {"name": name}
        try:
            result = action()
            entry["ok"] = True
            if name in ("get_info", "get_console_output"):
                entry["result"] = result
        except Exception as exc:  # the trace goes on: each flow says how it ended
            entry.update(ok=False, error=f"{type(exc).__name__}: {' '.join(str(exc).split())[:400]}")
        entry["calls"] = dict(calls.counts.get(name, {}))
        out.append(entry)
        if name == "suspend":
            states["after suspend"] = info("flow-b")
    calls.step = "observe"
    session.call_xenapi("SR.scan", sr)
    left = len(set(session.call_xenapi("SR.get_VDIs", sr)) - before)
    print(json.dumps({"flows": out, "states": states, "sr_vdis_left": left}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
