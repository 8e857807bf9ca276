// Report defaults linked into every executable of a sanitizer build (CMakeLists.txt): each
// process writes its reports to a file of its own in <build>/sanitizer-reports (log_path adds
// the pid), so a report from a process nobody watches (berth under podman or containerd, a
// shim, berthd's runtime children) is still found by scripts/sanitize.sh. The environment
// (ASAN_OPTIONS, UBSAN_OPTIONS, TSAN_OPTIONS) overrides these where a test passes it on.

#ifndef BERTH_SANITIZER_REPORTS
#error "BERTH_SANITIZER_REPORTS: the directory for reports, set by CMakeLists.txt"
#endif

#define BERTH_REPORT_OPTIONS "log_path=" BERTH_SANITIZER_REPORTS "/report:log_exe_name=1"

extern "C" {

// A report does not stop the process with an abort (a core dump in a container's cgroup
// would be another failure to explain); the exit code of the failed process says it, and the
// report file says why. Leaks are checked at exit.
__attribute__((visibility("default"), used)) const char* __asan_default_options() {
  return BERTH_REPORT_OPTIONS ":detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0"
                              ":suppressions=" BERTH_SANITIZER_SUPPRESSIONS "/asan.supp";
}

__attribute__((visibility("default"), used)) const char* __lsan_default_options() {
  return "suppressions=" BERTH_SANITIZER_SUPPRESSIONS "/lsan.supp";
}

__attribute__((visibility("default"), used)) const char* __ubsan_default_options() {
  return BERTH_REPORT_OPTIONS ":print_stacktrace=1:halt_on_error=0"
                              ":suppressions=" BERTH_SANITIZER_SUPPRESSIONS "/ubsan.supp";
}

__attribute__((visibility("default"), used)) const char* __tsan_default_options() {
  return BERTH_REPORT_OPTIONS ":halt_on_error=0:second_deadlock_stack=1"
                              ":suppressions=" BERTH_SANITIZER_SUPPRESSIONS "/tsan.supp";
}

}  // extern "C"
