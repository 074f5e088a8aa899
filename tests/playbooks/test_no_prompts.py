"""Nothing in the repository may wait for a person: AWX jobs and the watcher run unattended, and a
prompt there hangs the job until its timeout. Every YAML file of the repository (playbooks, roles,
molecule, awx/) is parsed and searched for a `vars_prompt` and for a `pause` without `seconds` or
`minutes` (a pause with a prompt and no timeout waits for Enter). The bad samples below show that
the check finds each form."""
import os
import subprocess

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAUSE = {"pause", "ansible.builtin.pause", "ansible.legacy.pause"}


class _AnyTagLoader(yaml.SafeLoader):
    """Reads !vault, !unsafe and other tags as plain values: only the structure matters here."""


_AnyTagLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def _pause_is_timed(args):
    if isinstance(args, dict):
        return "seconds" in args or "minutes" in args
    if isinstance(args, str):  # free form: pause: seconds=5
        return any(word.startswith(("seconds=", "minutes=")) for word in args.split())
    return False


def prompts(text):
    """The interactive waits in one YAML document stream: ['vars_prompt', 'pause', ...]."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if "vars_prompt" in node:
                found.append("vars_prompt")
            for key, value in node.items():
                if key in PAUSE and not _pause_is_timed(value):
                    found.append("pause without seconds/minutes")
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for document in yaml.load_all(text, Loader=_AnyTagLoader):  # noqa: S506 (safe loader subclass)
        walk(document)
    return found


def repository_yaml():
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard",
                            "*.yml", "*.yaml"], cwd=REPO, check=True, capture_output=True)
    return [f for f in files.stdout.decode().split("\0") if f and os.path.isfile(os.path.join(REPO, f))]


def test_no_playbook_waits_for_a_person():
    files = repository_yaml()
    assert "playbooks/takeover.yml" in files and "awx/configure.yml" in files  # the scope is right
    offenders = {}
    for name in files:
        with open(os.path.join(REPO, name), encoding="utf-8") as fh:
            found = prompts(fh.read())
        if found:
            offenders[name] = found
    assert offenders == {}, "these would hang an AWX job: %s" % offenders


@pytest.mark.parametrize("sample, expected", [
    ("- hosts: all\n  vars_prompt:\n    - name: node\n      prompt: Which node?\n  tasks: []\n",
     ["vars_prompt"]),
    ("- name: Wait for Enter\n  ansible.builtin.pause:\n    prompt: Press Enter\n",
     ["pause without seconds/minutes"]),
    ("- hosts: all\n  tasks:\n    - block:\n        - pause:\n", ["pause without seconds/minutes"]),
    ("- name: free form\n  ansible.legacy.pause: prompt=go\n", ["pause without seconds/minutes"]),
    ("- name: timed\n  ansible.builtin.pause:\n    seconds: 5\n", []),
    ("- name: timed, free form\n  pause: minutes=1\n", []),
    ("x: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  3031\n", []),
], ids=["vars_prompt", "pause-prompt", "pause-in-block", "pause-free-form", "pause-seconds",
        "pause-minutes", "vault-tag"])
def test_the_check_finds_each_form(sample, expected):
    assert prompts(sample) == expected
