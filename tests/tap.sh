# Shared TAP helpers for the shell tests (source it; bash).
#   ok DESCRIPTION COMMAND...   run COMMAND, print "ok N - ..." or "not ok N - ..."
#   stat_of JSON KEY            print one field of a JSON object
#   tap_exit                    exit 1 if any check failed
tap_n=0
tap_failed=0
ok() {
    local desc=${1//$'\n'/ }   # one TAP line, whatever the description quotes
    shift
    tap_n=$((tap_n + 1))
    if "$@"; then
        echo "ok $tap_n - $desc"
    else
        echo "not ok $tap_n - $desc"
        tap_failed=$((tap_failed + 1))
    fi
}
stat_of() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
tap_exit() { exit $((tap_failed > 0)); }
