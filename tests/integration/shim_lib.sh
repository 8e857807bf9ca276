# Shared by the berth-shim tests (test_shim.sh, test_shim_stream.sh): the shim and its test
# client (berth-shim-ctl) from the build, the shim's work dir and the runtime it drives.
# Source after lib.sh.
BERTH_BUILD_DIR=${BERTH_BUILD_DIR:-$(dirname "$(readlink -f "$BERTH")")}
SHIM=${BERTH_SHIM:-$BERTH_BUILD_DIR/berth-shim}
CTL=${BERTH_SHIM_CTL:-$BERTH_BUILD_DIR/tests/berth-shim-ctl}
[ -x "$SHIM" ] || die "$SHIM is not built"
[ -x "$CTL" ] || die "$CTL is not built"
WD=$TEST_DIR/shim
LOGS=$TEST_DIR/logs
mkdir -p "$LOGS"
RUNTIME=$(readlink -f "$BERTH")

ctl() { timeout -k 5 60 "$CTL" -w "$WD" "$@"; }
# field JQ JSON
field() { jq -r "$1" <<<"$2"; }
# Kill whatever shim is left at exit (after lib.sh deleted the containers).
on_exit 'p=$(cat '"$WD"'/shim.pid 2>/dev/null) && kill -KILL $p'
