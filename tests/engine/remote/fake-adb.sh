#!/usr/bin/env bash
# A FAKE adb for the tests (PRUNELAB_ADB points at it): no phone is behind it. It appends each
# call's arguments as one line to $FAKE_ADB_LOG, answers `devices -l` with the file
# $FAKE_ADB_DEVICES, and fails (FAKE_ADB_FAIL) or hangs (FAKE_ADB_HANG) the step named there:
# devices, probe, push, chmod, forward, agent, remove. The agent step keeps running until signalled.
# With FAKE_ADB_AGENT set to a real prunelab-agent of this machine, the agent step runs it with the
# arguments meant for the phone: the forward is then the identity (the agent binds the abstract
# socket on this machine), so the whole `--backend phone` flow runs with no phone at all.
# With FAKE_ADB_PHONE_DIR instead, that folder is the "phone's" /data/local/tmp: the probe
# answers from it, push copies the file there (to a temporary name, then renamed: an agent running
# from the old file keeps its own copy, as on a phone), and the agent step runs the file there,
# through $FAKE_ADB_LAUNCHER when set (qemu for an aarch64 agent): the test sees which agent ran.
set -u
log="${FAKE_ADB_LOG:-/dev/null}"
printf '%s\n' "$*" >>"$log"

args=("$@")
if [ "${args[0]:-}" = "-s" ]; then args=("${args[@]:2}"); fi
cmd="${args[0]:-}"
step=unknown
case "$cmd" in
    devices) step=devices ;;
    push) step=push ;;
    forward) if [ "${args[1]:-}" = "--remove" ]; then step=remove; else step=forward; fi ;;
    shell) case "${args[1]:-}" in chmod) step=chmod ;; test) step=probe ;; *) step=agent ;; esac ;;
esac

if [ "${FAKE_ADB_HANG:-}" = "$step" ]; then
    sleep 300 &
    printf 'fake-adb hung: pid %s, sleep pid %s\n' "$$" "$!" >>"$log"
    wait
    exit 0
fi
fail=0
[ "${FAKE_ADB_FAIL:-}" = "$step" ] && fail=1

case "$step" in
    devices)
        if [ "$fail" = 1 ]; then echo "adb: fake failure: cannot connect to daemon" >&2; exit 1; fi
        if [ -n "${FAKE_ADB_DEVICES:-}" ]; then cat "$FAKE_ADB_DEVICES"; else printf 'List of devices attached\n\n'; fi ;;
    push)
        if [ "$fail" = 1 ]; then
            echo "adb: error: failed to copy '${args[1]}' to '${args[2]}': remote couldn't create file: Read-only file system" >&2
            exit 1
        fi
        if [ -n "${FAKE_ADB_PHONE_DIR:-}" ]; then
            dest="$FAKE_ADB_PHONE_DIR/$(basename "${args[2]}")"
            cp "${args[1]}" "$dest.tmp.$$" && mv -f "$dest.tmp.$$" "$dest" || exit 1
        fi
        echo "${args[1]}: 1 file pushed, 0 skipped." ;;
    probe)  # `test -x AGENT && echo present`: FAKE_ADB_HAS_AGENT=1 says the phone has it
        if [ "${FAKE_ADB_HAS_AGENT:-}" = 1 ]; then echo present; fi
        if [ -n "${FAKE_ADB_PHONE_DIR:-}" ] && [ -x "$FAKE_ADB_PHONE_DIR/$(basename "${args[3]:-}")" ]; then
            echo present
        fi ;;
    chmod)
        if [ "$fail" = 1 ]; then echo "chmod: ${args[3]}: Operation not permitted" >&2; exit 1; fi ;;
    forward)
        if [ "$fail" = 1 ]; then echo "adb: error: cannot bind listener: Address already in use" >&2; exit 1; fi ;;
    remove)
        if [ "$fail" = 1 ]; then echo "adb: error: listener '${args[2]}' not found" >&2; exit 1; fi ;;
    agent)
        if [ "$fail" = 1 ]; then
            echo "/system/bin/sh: ${args[1]}: can't execute: Permission denied" >&2
            exit 126
        fi
        if [ -n "${FAKE_ADB_AGENT:-}" ]; then
            printf 'fake adb runs the local agent %s\n' "$FAKE_ADB_AGENT" >>"$log"
            exec "$FAKE_ADB_AGENT" "${args[@]:2}"
        fi
        if [ -n "${FAKE_ADB_PHONE_DIR:-}" ]; then
            pushed="$FAKE_ADB_PHONE_DIR/$(basename "${args[1]}")"
            printf 'fake adb runs the pushed agent %s\n' "$pushed" >>"$log"
            # shellcheck disable=SC2086  # the launcher is one program path or nothing
            exec ${FAKE_ADB_LAUNCHER:-} "$pushed" "${args[@]:2}"
        fi
        # What the desktop wrote on the agent's stdin (the session token), for the test to check.
        token=
        read -r -t 5 token || true
        printf 'fake agent stdin: %s\n' "$token" >>"$log"
        sleeper=
        trap 'printf "fake agent stopped by TERM\n" >>"$log"; [ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null; exit 143' TERM
        sleep 300 &
        sleeper=$!
        printf 'fake agent ready, sleep pid %s\n' "$sleeper" >>"$log"
        echo "fake agent listening"
        wait
        ;;
    *) echo "fake adb: unknown command: $*" >&2; exit 1 ;;
esac
