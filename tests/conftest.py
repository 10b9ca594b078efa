# tests/infra/ holds the deployment suites `invoke verify` runs against a lab's
# hosts; they are not part of xenlab's own test run.
collect_ignore = ["infra"]
