"""Tasks and event.from against xapi-project/xen-api v26.1.4 ocaml/xapi/xapi_task.ml and xapi_event.ml."""

import threading
import time

from xenlab.sim import tasks


def test_a_task_is_pending_until_its_client_finishes_it(sim):
    """xapi_task.ml create (pending, of this host), cancel (cancelling), destroy (a completed task
    goes; a pending one is marked for destruction and goes when it completes)."""
    task = sim.call("task.create", "nova-lifecycle", "a client's own task")
    rec = sim.call("task.get_record", task)
    assert (rec["status"], rec["resident_on"], rec["name_label"]) == ("pending", sim.host, "nova-lifecycle")
    assert task in sim.call("task.get_by_name_label", "nova-lifecycle")
    assert sim.call("task.cancel", task) == "" and sim.call("task.get_status", task) == "cancelling"
    assert sim.call("task.destroy", task) == "" and sim.call("task.get_status", task) == "cancelling"
    assert sim.call("task.set_status", task, "cancelled") == ""
    assert sim.call("task.get_record", task) == ["HANDLE_INVALID", "task", task]
    done = sim.call("task.create", "t", "")
    sim.call("task.set_status", done, "success")
    assert sim.call("task.cancel", done)[0] == "OPERATION_NOT_ALLOWED"
    assert sim.call("task.destroy", done) == "" and sim.call("task.get_all") == []


def test_event_from_reports_changes_since_the_token(sim):
    """xapi_event.ml from: the subscribed classes' changes after the token, a new token, the
    objects' records; a token that does not parse is EVENT_FROM_TOKEN_PARSE_FAILURE."""
    first = sim.call("event.from", ["vm"], "", 0.0)
    assert first["events"] and all(e["class"] == "vm" for e in first["events"])
    token = first["token"]
    assert len(token.split(",")[0]) == 20
    vm = sim.vm()
    sim.call("VM.start", vm, False, False)
    changes = sim.call("event.from", [f"vm/{vm}"], token, 0.0)
    assert {e["operation"] for e in changes["events"]} == {"add", "mod"}
    assert changes["events"][-1]["snapshot"]["power_state"] == "Running" and changes["events"][0]["ref"] == vm
    assert int(changes["valid_ref_counts"]["vm"]) >= 2
    assert sim.call("event.from", ["vm"], "nope", 0.0) == ["EVENT_FROM_TOKEN_PARSE_FAILURE", "nope"]
    quiet = sim.call("event.from", ["task"], changes["token"], 0.0)
    assert quiet["events"] == [] and quiet["token"] >= changes["token"]


def test_event_from_waits_for_a_change_with_the_simulator_free(sim):
    """An empty answer waits up to the timeout; other calls go on meanwhile and wake it."""
    token = sim.call("event.from", ["vm"], "", 0.0)["token"]
    vm = sim.vm()
    token = sim.call("event.from", ["vm"], token, 0.0)["token"]
    timer = threading.Timer(0.3, lambda: sim.call("VM.set_name_label", vm, "renamed"))
    began = time.monotonic()
    timer.start()
    answer = sim.call("event.from", ["vm"], token, 5.0)
    timer.join()
    assert 0.2 < time.monotonic() - began < 4.0
    assert [e["snapshot"]["name_label"] for e in answer["events"]] == ["renamed"]
    assert tasks.MAX_EVENT_WAIT <= 60
