// LD_PRELOAD'ed into berthctl by test_images_powercut.sh with BERTH_POWERCUT_NOSYNC=1: every
// way to make data durable becomes a no-op, so the power-cut test can show that without
// them a cut leaves committed layers whose files are missing or empty (the check must fail).
#include <unistd.h>


int syncfs(int fd) { (void)fd; return 0; }
int fsync(int fd) { (void)fd; return 0; }
int fdatasync(int fd) { (void)fd; return 0; }
void sync(void) {}
// The unpacker's early writeback (a start, not a guarantee) goes too.
int sync_file_range(int fd, long long offset, long long nbytes, unsigned int flags) {
  (void)fd;
  (void)offset;
  (void)nbytes;
  (void)flags;
  return 0;
}
