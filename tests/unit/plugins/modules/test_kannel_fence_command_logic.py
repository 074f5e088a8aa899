"""kannel_fence_command: only the program's name and how the command ended are said."""

from ansible_collections.smsgw.cluster.plugins.modules.kannel_fence_command import (
    outcome_of,
    program_of,
)


def test_only_the_programs_name_is_kept():
    assert program_of("/usr/local/bin/fence-node north 10.0.0.1 --password s3cret") == "fence-node"
    assert program_of("  sh -c 'echo secret; exit 3'") == "sh"
    assert program_of("poweroff-node") == "poweroff-node"


def test_each_exit_status_is_said_as_the_takeover_says_it():
    assert outcome_of(0, 2) == "succeeded"
    for rc in (124, 137):  # timeout(1): stopped after the timeout, killed after --kill-after
        assert outcome_of(rc, 2) == "did not finish within kannel_fence_timeout=2 s and was stopped"
    assert outcome_of(126, 2) == "is not executable"
    assert outcome_of(127, 2) == "was not found"
    assert outcome_of(1, 2) == outcome_of(3, 2) == "failed"
