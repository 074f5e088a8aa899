"""The filters maintenance.yml reports package changes with (dpkg_changes, dpkg_versions)."""
from ansible_collections.smsgw.cluster.plugins.filter.dpkg_changes import dpkg_changes
from ansible_collections.smsgw.cluster.plugins.filter.dpkg_versions import dpkg_versions

BEFORE = ["kannel 1.4.5-12 ii", "libc6 2.36-9 ii", "old-tool 1.0 ii", "gone 2.0 rc", "same 3 ii"]
AFTER = ["kannel 1.4.5-12+deb12u1 ii", "libc6 2.36-9 ii", "new-tool 0.9 ii", "gone 2.0 rc",
         "same 3 ii"]


def test_changes_are_upgrades_installs_and_removals_of_installed_packages():
    assert dpkg_changes(BEFORE, AFTER) == [
        {"name": "kannel", "before": "1.4.5-12", "after": "1.4.5-12+deb12u1"},
        {"name": "new-tool", "before": None, "after": "0.9"},
        {"name": "old-tool", "before": "1.0", "after": None},
    ]


def test_no_change_is_an_empty_list():
    assert dpkg_changes(BEFORE, BEFORE) == []


def test_versions_of_named_packages_null_when_not_installed():
    assert dpkg_versions(AFTER, ["kannel", "gone", "absent"]) == {
        "kannel": "1.4.5-12+deb12u1", "gone": None, "absent": None}
