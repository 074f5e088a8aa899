"""What the benchmark scripts share: the machine description, median/min/max, and writing one
section of BENCHMARKS.md (each script owns one `## ` section and replaces only that)."""
import argparse
import os
import platform
import re
import statistics
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(REPO, ".venv", "bin")
sys.path.insert(0, os.path.join(REPO, "molecule", "shared"))
from story import ssh_vars  # noqa: E402  pylint: disable=wrong-import-position


def machine():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1))
    kannel = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "kannel"], capture_output=True,
                            text=True, check=False).stdout or "?"
    import ansible
    return ("%d vCPU (`nproc`), %.1f GiB RAM, CPU model \"%s\", %s %s, Python %s, ansible-core %s, "
            "Kannel %s" % (os.cpu_count(), mem_kb / 1048576.0, cpu, platform.system(),
                           platform.release(), platform.python_version(), ansible.__version__,
                           kannel))


def stats(values, fmt="%.2f"):
    """median / min / max of values, each with fmt."""
    return " / ".join(fmt % v for v in (statistics.median(values), min(values), max(values)))


def write_section(section):
    """Replace (or append) the section whose first line is section's first line."""
    title = section.split("\n", 1)[0]
    path = os.path.join(REPO, "BENCHMARKS.md")
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n\n"
    start = text.find(title)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        nxt = text.find("\n## ", start + len(title))
        text = text[:start] + section + ("\n" + text[nxt + 1:] if nxt >= 0 else "")
    with open(path, "w") as f:
        f.write(text)


def arguments(doc, sizes, runs, connections=None):
    """The command line every benchmark takes -> (sizes as ints, runs, write), plus the connection
    when the benchmark can reach the lab more than one way (connections: the choices, first is
    the default)."""
    ap = argparse.ArgumentParser(description=doc.split("\n", maxsplit=1)[0])
    ap.add_argument("--sizes", default=sizes, help="comma-separated sizes (default %(default)s)")
    ap.add_argument("--runs", type=int, default=runs, help="runs per size (default %(default)s)")
    ap.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    if connections:
        ap.add_argument("--connection", choices=connections, default=connections[0],
                        help="how Ansible reaches the lab nodes (default %(default)s)")
    a = ap.parse_args()
    parsed = [int(x) for x in a.sizes.split(",")], a.runs, a.write
    return parsed + (a.connection,) if connections else parsed


def publish(section, write):
    """Print the section; with write, also put it into BENCHMARKS.md."""
    print(section)
    if write:
        write_section(section)


# How a benchmark can reach the lab nodes; the first is the default (what real hosts cost).
CONNECTIONS = ("ssh", "podman")


def connection_vars(connection):
    """How Ansible reaches the lab nodes: over SSH as inventory/lab does, or with podman exec."""
    if connection == "podman":
        return {"ansible_connection": "containers.podman.podman",
                "ansible_python_interpreter": "/usr/bin/python3",
                # an absolute temporary directory spares the podman connection an `echo ~` per task
                "ansible_remote_tmp": "/var/tmp/.ansible-tmp"}
    return ssh_vars(REPO)
