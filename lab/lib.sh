# Shared helpers for scripts/setup and scripts/lab (sourced, not executed).
# shellcheck shell=bash

# Timed step with a heading: step "name" command args...
# Runs the command normally (set -e stays in force inside it); if the script dies inside a step,
# the EXIT trap installed by step_trap names the failed step and its duration.
STEP_NAME="" STEP_T0=""
step() {
  local name=$1; shift
  local t0 prev_name=$STEP_NAME prev_t0=$STEP_T0
  t0=$(date +%s.%N)
  STEP_NAME=$name STEP_T0=$t0
  printf '==> %s\n' "$name"
  "$@"
  printf '    %s: done in %ss\n' "$name" "$(elapsed_since "$t0")"
  STEP_NAME=$prev_name STEP_T0=$prev_t0
}
step_trap() {
  trap 'rc=$?; if [ "$rc" -ne 0 ] && [ -n "$STEP_NAME" ]; then printf "    %s: FAILED (exit %s) after %ss\n" "$STEP_NAME" "$rc" "$(elapsed_since "$STEP_T0")" >&2; fi' EXIT
}

die() { printf 'error: %s\n' "$*" >&2; exit 1; }
note() { printf '    %s\n' "$*"; }

# Elapsed seconds since a `date +%s.%N` value, one decimal.
elapsed_since() { awk -v t0="$1" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.1f", t1 - t0 }'; }

# The Debian mirror the host's apt already uses, read from its sources (never hard-coded).
# host_mirror [security]: prints the URI serving bookworm (or bookworm-security) without a trailing /.
host_mirror() {
  local want=${1:-main} uri=""
  if [ -r /etc/apt/sources.list.d/debian.sources ] || compgen -G '/etc/apt/sources.list.d/*.sources' >/dev/null; then
    # deb822: stanzas separated by blank lines; pick the first deb stanza whose Suites match.
    uri=$(awk -v want="$want" '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && uris != "") {
          n = split(suites, s, " ")
          for (i = 1; i <= n; i++) {
            if ((want == "security" && s[i] ~ /-security$/) ||
                (want == "main" && s[i] !~ /-(security|updates|backports|proposed-updates)$/)) {
              split(uris, u, " "); if (found == "") found = u[1]
            }
          }
        }
        types = ""; uris = ""; suites = ""
      }
      /^[ \t]*$/ { flush(); next }
      /^[ \t]*#/ { next }
      tolower($1) == "types:"  { $1 = ""; types = $0 }
      tolower($1) == "uris:"   { $1 = ""; uris = $0; sub(/^ +/, "", uris) }
      tolower($1) == "suites:" { $1 = ""; suites = $0 }
      END { flush(); print found }
    ' /etc/apt/sources.list.d/*.sources 2>/dev/null)
  fi
  if [ -z "$uri" ]; then
    uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk -v want="$want" '
      $1 == "deb" {
        i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
        url = $i; suite = $(i + 1)
        if ((want == "security" && suite ~ /-security$/) ||
            (want == "main" && suite !~ /-(security|updates|backports|proposed-updates)$/)) { print url; exit }
      }')
  fi
  printf '%s\n' "${uri%/}"
}

need_cmd() {
  local c
  for c in "$@"; do
    type -P "$c" >/dev/null 2>&1 || die "$c not installed: run scripts/setup"
  done
}
