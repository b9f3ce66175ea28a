#!/bin/sh
# Started by the bench's daemon runner in place of korehookd: execs the real binary (given by the
# bench in KOREHOOK_BENCH_DAEMON), under $KOREHOOK_BENCH_WRAPPER when set (e.g.
# "valgrind --tool=callgrind"). exec keeps the pid, so the bench reads korehookd's own
# /proc/PID/stat and /proc/PID/status.
exec ${KOREHOOK_BENCH_WRAPPER:-} "$KOREHOOK_BENCH_DAEMON" "$@"
