from xenlab.sim import sessions as sessions_mod
from xenlab.sim.sessions import Sessions
from xenlab.sim.store import Store


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


def make():
    clock = Clock()
    return Sessions(Store(schema=True), clock), clock


def test_a_session_is_valid_until_destroyed():
    s, _ = make()
    ref = s.create("OpaqueRef:h", "root", "nova", "2.1")
    assert s.valid(ref) and not s.valid("OpaqueRef:nope") and not s.valid(["not", "a", "ref"])
    s.destroy(ref)
    assert not s.valid(ref)


def test_inactive_sessions_are_destroyed_after_xapis_timeout():
    s, clock = make()
    idle = s.create("OpaqueRef:h", "root", "nova", "2.1")
    busy = s.create("OpaqueRef:h", "root", "nova", "2.1")
    clock.now += sessions_mod.INACTIVE_SESSION_TIMEOUT - 10
    assert s.valid(busy)  # refreshes its last_active (older than the threshold)
    clock.now += 20
    assert s.maybe_gc() == 1
    assert not s.valid(idle) and s.valid(busy)


def test_the_collector_runs_once_per_gc_period():
    s, clock = make()
    s.create("OpaqueRef:h", "root", "nova", "2.1")
    clock.now += sessions_mod.INACTIVE_SESSION_TIMEOUT + 1
    s.last_gc = clock.now - 1
    assert s.maybe_gc() == 0  # too early
    clock.now += sessions_mod.DB_GC_TIMER
    assert s.maybe_gc() == 1


def test_beyond_a_groups_limit_the_least_recently_active_go():
    s, clock = make()
    refs = []
    for _ in range(sessions_mod.MAX_SESSIONS_PER_ORIGINATOR + 3):
        clock.now += 1
        refs.append(s.create("OpaqueRef:h", "root", "nova", "2.1"))
    other = s.create("OpaqueRef:h", "root", "xenlab", "2.1")
    assert s.gc() == 3
    assert not any(s.valid(r) for r in refs[:3]) and all(s.valid(r) for r in refs[3:]) and s.valid(other)


def test_sessions_without_originator_share_xapis_max_sessions():
    s, clock = make()
    for _ in range(sessions_mod.MAX_SESSIONS + 2):
        clock.now += 1
        s.create("OpaqueRef:h", "", "", "1.0")
    assert s.gc() == 2 and len(s) == sessions_mod.MAX_SESSIONS


def test_all_sessions_together_stay_under_the_simulators_bound():
    s, clock = make()
    for i in range(sessions_mod.MAX_SESSIONS_TOTAL + 5):
        clock.now += 1
        s.create("OpaqueRef:h", "root", f"origin-{i}", "2.1")
    assert len(s) == sessions_mod.MAX_SESSIONS_TOTAL


def test_last_active_is_refreshed_only_when_older_than_xapis_threshold():
    s, clock = make()
    ref = s.create("OpaqueRef:h", "root", "nova", "2.1")
    first = s.table[ref]["last_active"].value
    clock.now += sessions_mod.THRESHOLD_LAST_ACTIVE - 1
    s.valid(ref)
    assert s.table[ref]["last_active"].value == first
    clock.now += 2
    s.valid(ref)
    assert s.table[ref]["last_active"].value != first
