"""The Galaxy build ships the collection and nothing of the project around it: the lab (with its
inventory and example vault), tests, benchmarks and AWX project files stay in the repository."""
import os
import subprocess
import tarfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHIPPED = {"MANIFEST.json", "FILES.json", "README.md", "docs", "extensions", "playbooks", "plugins", "roles"}


def test_galaxy_build_ships_the_collection_only(tmp_path):
    subprocess.run(["ansible-galaxy", "collection", "build", "--output-path", str(tmp_path), REPO],
                   check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    (tarball,) = tmp_path.glob("smsgw-cluster-*.tar.gz")
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    assert {name.split("/")[0] for name in names} == SHIPPED
    for wanted in ("plugins/modules/kannel_serve.py", "plugins/module_utils/kannel_status.py",
                   "roles/kannel_node/files/kannel_cluster_guard.py", "playbooks/takeover.yml",
                   "extensions/eda/rulebooks/auto_takeover.yml", "docs/DESIGN.md"):
        assert wanted in names
