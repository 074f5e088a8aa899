"""A node's own apt repository (a `file:` source inside its container) that offers some of its
installed packages again under a higher version: the real package update of maintenance.yml
(-e maintenance=kannel) then has something to install, without waiting for Debian to publish a
new Kannel. Used by test_maintenance.py (default scenario) and benchmarks/maintenance.py.

Each package is the node's own .deb (apt's cache, else `apt-get download`) re-versioned with
dpkg-deb: the installed VERSION becomes VERSION+smsgwlab1 (again on each call: a benchmark's next
run gets VERSION+smsgwlab1+smsgwlab1), and an exact dependency on another package of the
list follows it (kannel-extras depends on kannel (= VERSION); apt's cache may hold an older
VERSION than the one installed). The index (Packages, Release) is
written by hand: the nodes have no dpkg-dev. The source is trusted=yes (nothing to sign with).
"""
REPO_DIR = "/srv/smsgw-test-repo"
SOURCE = "/etc/apt/sources.list.d/smsgw-test-repo.list"
SUFFIX = "+smsgwlab1"
KANNEL = ["kannel", "kannel-extras"]  # of the role's packages; kannel-extras needs kannel (= its version)

# sh -c SCRIPT sh REPO_DIR SUFFIX HELD SOURCE PACKAGE...; prints "offered PACKAGE OLD NEW" per package.
# HELD=1 leaves the .debs in REPO_DIR/held (the index names them all the same): apt's download
# fails until release() moves them in, as with a repository synchronised halfway.
_BUILD = r"""
set -eu
repo=$1 suffix=$2 held=$3 source=$4
shift 4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
for pkg in "$@"; do
    old=$(dpkg-query -W -f='${Version}' "$pkg")
    printf '/^Depends:/s/\\b%s (= [^)]*)/%s (= %s)/\n' "$pkg" "$pkg" "$old$suffix" >> depends.sed
    cached=$(ls /var/cache/apt/archives/"$pkg"_*.deb 2>/dev/null | head -n 1)
    if [ -n "$cached" ]; then cp "$cached" "$pkg.deb"; else apt-get download -q=2 "$pkg" && mv "$pkg"_*.deb "$pkg.deb"; fi
done
rm -rf "$repo"
mkdir -p "$repo/held"
for pkg in "$@"; do
    old=$(dpkg-query -W -f='${Version}' "$pkg")
    dpkg-deb -R "$pkg.deb" "$pkg"
    sed -i -e "s/^Version: .*/Version: $old$suffix/" -f depends.sed "$pkg/DEBIAN/control"
    deb="${pkg}_$(echo "$old$suffix" | sed 's/:/%3a/')_$(dpkg-deb -f "$pkg.deb" Architecture).deb"
    dpkg-deb -Zgzip -z1 -b "$pkg" "$repo/held/$deb" >/dev/null
    { dpkg-deb -f "$repo/held/$deb"; echo "Filename: ./$deb"; echo "Size: $(stat -c %s "$repo/held/$deb")"
      echo "SHA256: $(sha256sum "$repo/held/$deb" | cut -d ' ' -f 1)"; echo; } >> "$repo/Packages"
    echo "offered $pkg $old $old$suffix"
done
[ "$held" = 1 ] || mv "$repo"/held/*.deb "$repo/"
{ echo "Date: $(date -Ru)"; echo "SHA256:"
  echo " $(sha256sum "$repo/Packages" | cut -d ' ' -f 1) $(stat -c %s "$repo/Packages") Packages"; } > "$repo/Release"
echo "deb [trusted=yes] file:$repo ./" > "$source"
"""


def offer_newer(cluster, node, packages, held=False):
    """Offer `packages` (installed on `node`) again under a higher version from the node's own
    repository, and update the node's package lists of that source only (a check-mode run sees the
    upgrade). Returns {package: (installed version, offered version)}."""
    out = cluster.exec_ok(node, "sh", "-c", _BUILD, "sh", REPO_DIR, SUFFIX,
                          "1" if held else "0", SOURCE, *packages)
    cluster.exec_ok(node, "apt-get", "update", "-q=2", "-o", "Dir::Etc::sourcelist=" + SOURCE,
                    "-o", "Dir::Etc::sourceparts=-", "-o", "APT::Get::List-Cleanup=0")
    return {pkg: (old, new) for _word, pkg, old, new in (line.split() for line in out.splitlines()
                                                         if line.startswith("offered "))}


def release(cluster, node):
    """Put the .debs an offer_newer(held=True) kept back where its index says they are."""
    cluster.exec_ok(node, "sh", "-c", 'mv "$1"/held/*.deb "$1"/', "sh", REPO_DIR)
