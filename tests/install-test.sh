#!/bin/sh
# `meson install --destdir`, then runs what was installed as its users would: the installed
# backendd serving the installed (shipped) plugins and a plugin built out of tree against the
# installed backend-plugin.pc; the installed backendctl; a host built out of tree against the
# installed backend-client.pc (tests/install/). Checks the man pages when scdoc built them.
# Usage: install-test.sh BUILD_ROOT SRC_DIR MESON PREFIX BINDIR SBINDIR LIBDIR MANDIR SYSCONFDIR MAN SANITIZE
#                        CC [CC_ARGS...]
#   SRC_DIR: tests/install; MAN: yes when the man pages were built; SANITIZE: b_sanitize.
set -eu
build_root=$1 src=$2 meson=$3 prefix=$4 bindir=$5 sbindir=$6 libdir=$7 mandir=$8 sysconfdir=$9
shift 9
man=$1 sanitize=$2
shift 2

command -v pkg-config >/dev/null || { echo "pkg-config not found: skipped"; exit 77; }
[ -n "$meson" ] || { echo "meson not found: skipped"; exit 77; }

# Install directories are relative to the prefix unless meson was given absolute ones.
abs() { case $1 in /*) echo "$1" ;; *) echo "$prefix/$1" ;; esac; }
bindir=$(abs "$bindir") sbindir=$(abs "$sbindir") libdir=$(abs "$libdir") mandir=$(abs "$mandir")
sysconfdir=$(abs "$sysconfdir")

umask 022 # as root, backendd refuses plugin files others can write
tmp=$(mktemp -d)
dest=$tmp/dest
plugdir=$tmp/plugins        # the out-of-tree plugin's distribution
sock=$tmp/run/backendd.sock
daemon_pid=""
cleanup() {
  if [ -n "$daemon_pid" ]; then
    kill "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fail() {
  echo "FAIL: $*" >&2
  if [ -s "$tmp/daemon.log" ]; then
    echo "--- backendd log:" >&2
    cat "$tmp/daemon.log" >&2
  fi
  exit 1
}

# --- install -----------------------------------------------------------------------------
"$meson" install -C "$build_root" --destdir "$dest" --no-rebuild >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log" >&2; fail "meson install --destdir failed"; }

installed_plugins=$dest$libdir/backendd/plugins
installed_config=$dest$sysconfdir/backendd/backendd.conf
for f in "$dest$sbindir/backendd" "$dest$bindir/backendctl"; do
  [ -x "$f" ] || fail "$f was not installed (or is not executable)"
done
for f in "$dest$libdir/libbackend-client.so" "$dest$libdir/libbackend-plugin.so" \
  "$dest$prefix/include/backend/client.h" "$dest$prefix/include/backend/plugin.h" \
  "$dest$libdir/pkgconfig/backend-client.pc" "$dest$libdir/pkgconfig/backend-plugin.pc" "$installed_config"; do
  [ -f "$f" ] || fail "$f was not installed"
done
for p in backendd_x86_64 backendd_glibc; do
  for f in "$p/plugin.so" "$p-"*.dist-info/METADATA "$p-"*.dist-info/entry_points.txt; do
    # shellcheck disable=SC2086 # the glob is meant to expand
    [ -f "$installed_plugins/"$f ] || fail "shipped plugin file $installed_plugins/$f was not installed"
  done
done

# --- man pages ---------------------------------------------------------------------------
if [ "$man" = yes ]; then
  for page in man8/backendd.8 man1/backendctl.1 man5/backendd.conf.5 man7/backendd-plugins.7; do
    f=$dest$mandir/$page
    [ -s "$f" ] || fail "man page $f was not installed (or is empty)"
    grep -q '^\.TH ' "$f" || fail "$f is not a troff man page (no .TH)"
    grep -q '^\.SH NAME' "$f" || fail "$f has no NAME section"
    if command -v man >/dev/null; then
      out=$(MANWIDTH=80 man -l "$f" 2>/dev/null) || fail "man -l $f failed"
      [ -n "$out" ] || fail "man -l $f printed nothing"
    fi
  done
  for page in man8/backendd.8 man1/backendctl.1; do
    grep -q '^\.SH EXIT STATUS' "$dest$mandir/$page" || fail "$dest$mandir/$page documents no exit status"
  done
else
  echo "man pages not built (no scdoc, or -Dman=disabled): not checked"
fi

# --- the installed .pc files, relocated into DESTDIR -------------------------------------
# Copies of the two .pc files whose absolute variables (prefix=/usr/local, or an absolute
# libdir) point into DESTDIR; their Requires (msgpack) come from the system.
mkdir "$tmp/pkgconfig"
for pc in backend-client backend-plugin; do
  sed "s|^\([A-Za-z_][A-Za-z0-9_]*\)=/|\1=$dest/|" "$dest$libdir/pkgconfig/$pc.pc" >"$tmp/pkgconfig/$pc.pc"
done
PKG_CONFIG_PATH=$tmp/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
export PKG_CONFIG_PATH
plugin_flags=$(pkg-config --cflags --libs backend-plugin) || fail "pkg-config backend-plugin failed"
client_flags=$(pkg-config --cflags --libs backend-client) || fail "pkg-config backend-client failed"
case " $plugin_flags " in
*" -I$dest$prefix/include "*" -lbackend-plugin "*) ;;
*) fail "backend-plugin.pc gives '$plugin_flags': want -I$dest$prefix/include ... -lbackend-plugin" ;;
esac
case " $client_flags " in
*" -lbackend-client "*) ;;
*) fail "backend-client.pc gives '$client_flags': want -lbackend-client" ;;
esac

# --- out-of-tree builds ------------------------------------------------------------------
# The installed libraries of a sanitized build need the sanitizer runtimes.
san=""
[ "$sanitize" = none ] || san="-fsanitize=$sanitize"
mkdir -p "$plugdir/example_plugin-1.0.dist-info"
# shellcheck disable=SC2086 # word splitting of flags is intended
"$@" $san -std=gnu11 -Wall -Wextra -Werror -shared -fPIC -fvisibility=hidden "$src/example_plugin.c" \
  -o "$plugdir/example_plugin.so" $plugin_flags || fail "cannot build the plugin against backend-plugin.pc"
printf 'Metadata-Version: 2.1\nName: example_plugin\nVersion: 1.0\n' >"$plugdir/example_plugin-1.0.dist-info/METADATA"
printf '[variant_plugins]\nexample = example_plugin\n' >"$plugdir/example_plugin-1.0.dist-info/entry_points.txt"
# shellcheck disable=SC2086
"$@" $san -std=gnu11 -Wall -Wextra -Werror "$src/host.c" -o "$tmp/host" $client_flags ||
  fail "cannot build the host against backend-client.pc"

# --- run what was installed --------------------------------------------------------------
LD_LIBRARY_PATH=$dest$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH
unset BACKENDD_SOCKET BACKENDD_PATH BACKENDD_CACHE JOURNAL_STREAM || true
ctl() { "$dest$bindir/backendctl" --socket "$sock" "$@"; }
# expect_status WANT COMMAND...: runs it, fails unless it exits WANT.
expect_status() {
  want=$1
  shift
  status=0
  "$@" >"$tmp/out" 2>&1 || status=$?
  [ "$status" -eq "$want" ] || { cat "$tmp/out" >&2; fail "$* exited $status, want $want"; }
}

"$dest$sbindir/backendd" --version | grep -q '^backendd ' || fail "installed backendd --version"
"$dest$bindir/backendctl" --version | grep -q '^backendctl ' || fail "installed backendctl --version"
expect_status 2 "$dest$sbindir/backendd" --no-such-flag
expect_status 2 "$dest$bindir/backendctl" no-such-command
expect_status 3 ctl ping # nothing listens yet
# The installed config file (every setting commented out) is valid; the daemon reads it
# rather than whatever the real one (without DESTDIR) may say.
expect_status 0 "$dest$sbindir/backendd" --config "$installed_config" --check-config --socket "$sock"

"$dest$sbindir/backendd" --config "$installed_config" --socket "$sock" --plugin-path "$plugdir:$installed_plugins" \
  --cache "$tmp/cache.sqlite" >"$tmp/daemon.log" 2>&1 &
daemon_pid=$!
i=0
until ctl ping >/dev/null 2>&1; do
  kill -0 "$daemon_pid" 2>/dev/null || fail "the installed backendd exited at start-up"
  i=$((i + 1))
  [ "$i" -lt 300 ] || fail "the installed backendd did not answer within 30 s"
  sleep 0.1
done

# A second daemon on the same socket is a start-up failure.
expect_status 1 "$dest$sbindir/backendd" --no-config --socket "$sock" --cache "$tmp/cache2.sqlite"

ctl plugins >"$tmp/plugins.out" 2>&1 || { cat "$tmp/plugins.out" >&2; fail "backendctl plugins failed"; }
# plugin_ok NAME DIR: the distribution NAME from DIR is listed, and its entry point is ok.
plugin_ok() {
  awk -v name="$1" -v dir="$2" '
    index($0, name " ") == 1 && index($0, dir "/" name "-") { found = 1; next }
    found { ok = ($1 == "ok"); exit }
    END { exit !ok }' "$tmp/plugins.out" ||
    { cat "$tmp/plugins.out" >&2; fail "backendctl plugins does not list $1 from $2 as ok"; }
}
plugin_ok example_plugin "$plugdir"
plugin_ok backendd_x86_64 "$installed_plugins"
plugin_ok backendd_glibc "$installed_plugins"

out=$(ctl configs example) || fail "backendctl configs example failed: $out"
[ "$out" = "example :: version :: v2, v1" ] || fail "backendctl configs example printed '$out'"
out=$(ctl build-setup 'example :: version :: v1') || fail "backendctl build-setup failed: $out"
[ "$out" = "EXAMPLE_VERSION=v1" ] || fail "backendctl build-setup printed '$out'"
out=$(ctl configs x86_64) || fail "backendctl configs x86_64 (a shipped plugin) failed: $out"
case $out in "x86_64 :: level :: "* | "x86_64: nothing supported"*) ;; *) fail "backendctl configs x86_64 printed '$out'" ;; esac
expect_status 1 ctl configs no_such_namespace # the daemon answers an error

"$tmp/host" "$sock" >"$tmp/host.out" 2>&1 || { cat "$tmp/host.out" >&2; fail "the host program failed"; }
printf 'pong %s\nexample :: version :: v2, v1\nvalid example :: version :: v1\ninvalid example :: version :: v3\n' \
  "$("$dest$sbindir/backendd" --version | cut -d' ' -f2)" >"$tmp/host.want"
cmp -s "$tmp/host.out" "$tmp/host.want" ||
  { diff "$tmp/host.want" "$tmp/host.out" >&2 || true; fail "the host program printed something else"; }

# A clean shutdown exits 0.
kill -TERM "$daemon_pid"
status=0
wait "$daemon_pid" || status=$?
daemon_pid=""
[ "$status" -eq 0 ] || fail "backendd exited $status after SIGTERM, want 0"
echo "ok: installed into $dest; daemon, backendctl, out-of-tree plugin and host work"
