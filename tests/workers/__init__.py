"""Helpers for the time and worker tests: a virtual-clock rig, bulk enrolment, a worker process
script."""
