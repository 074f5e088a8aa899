#!/bin/sh
# ansible-test sanity for the collection's plugins (modules, module_utils, doc fragments, filters),
# without docker.
#
#   tests/sanity.sh            # every plugin of the collection (modules, module_utils, ...) and
#                              # the node guard's entry point
#   tests/sanity.sh --all      # every file of the collection
#
# How it works here (no docker, PyPI reachable, ci-files.testing.ansible.com NOT reachable):
# - ansible-test needs the tree under .../ansible_collections/smsgw/cluster, so the repository is
#   copied (without .venv, collections/, .git) to $SANITY_ROOT.
# - ansible-test runs from its own virtualenv ($SANITY_VENV, ansible-core pinned as in
#   requirements.txt) so that `--requirements` never installs sanity tools into .venv.
# - each sanity test gets a managed venv created --without-pip and bootstrapped with a downloaded
#   get-pip script; that host is unreachable, so a stand-in is put in ansible-test's cache: it runs
#   `ensurepip` and then `pip install` with the same arguments (packages from PyPI, same pins).
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd)
# One copy per checkout: two checkouts (git worktrees) may run sanity at the same time.
SANITY_ROOT=${SANITY_ROOT:-/tmp/smsgw-sanity-$(printf %s "$REPO" | cksum | cut -d" " -f1)}
SANITY_VENV=${SANITY_VENV:-/tmp/smsgw-sanity-venv}
PYTHON=${PYTHON:-python3.11}
CORE_PIN=$(grep -E '^ansible-core==' "$REPO/requirements.txt")

if [ ! -x "$SANITY_VENV/bin/ansible-test" ]; then
    "$PYTHON" -m venv "$SANITY_VENV"
    "$SANITY_VENV/bin/pip" install -q "$CORE_PIN"
fi

CACHE="$HOME/.ansible/test/cache"
mkdir -p "$CACHE"
for v in 24_2 24_3 25_0 25_1; do
    f="$CACHE/get_pip_$v.py"
    # keep a real get-pip script if someone put one there; refresh our own stand-in
    if [ -e "$f" ] && ! grep -q "smsgw-sanity stand-in" "$f"; then continue; fi
    cat > "$f" <<'PY'
# smsgw-sanity stand-in for ansible-test's get-pip bootstrap script (ci-files.testing.ansible.com
# is not reachable here): bootstrap pip with ensurepip, then `pip install` the requested packages.
# ensurepip runs in its own process: in-process it sets PIP_CONFIG_FILE=/dev/null, which would hide
# pip.conf (index, CA bundle) from the following install.
import os
import subprocess
import sys

env = dict(os.environ)
env.pop("PIP_CONFIG_FILE", None)
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"], env=env,
                      stdout=subprocess.DEVNULL)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args, env=env))
PY
done

DEST="$SANITY_ROOT/ansible_collections/smsgw/cluster"
rm -rf "$SANITY_ROOT"
mkdir -p "$DEST"
tar -C "$REPO" --exclude=./.venv --exclude=./collections --exclude=./.git --exclude=./.lab \
    --exclude=__pycache__ --exclude=.pytest_cache --exclude=./tests/output -cf - . | tar -C "$DEST" -xf -
cd "$DEST"

if [ "${1:-}" = "--all" ]; then
    shift
    TARGETS=""
else
    # the plugins, and the node's guard: its entry point (the rest of it is in plugins/module_utils)
    TARGETS="$(find plugins -name '*.py' | sort) roles/kannel_node/files/kannel_cluster_guard.py"
fi
# shellcheck disable=SC2086
exec "$SANITY_VENV/bin/ansible-test" sanity --python 3.11 --requirements --color no "$@" $TARGETS
