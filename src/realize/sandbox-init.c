/*
 * hepstore-sandbox-init: makes the input closure appear in a bubblewrap sandbox, then runs the
 * builder. bwrap starts it as root of the sandbox's user namespace, with CAP_SYS_ADMIN (to
 * mount), CAP_DAC_OVERRIDE (for the overlay's work directory) and CAP_SETFCAP (to map the
 * builder's user to root, below), and this layout:
 *
 *   /.hepstore/init     this program
 *   /.hepstore/store    the whole store directory, read-only (taken away again below)
 *   /.hepstore/out      the host's scratch directory: `inputs` (the input closure, one store
 *                       path name a line), and upper/ and work/, both empty
 *   /.hepstore/lower    an empty directory
 *   STOREDIR            an empty directory
 *
 * bwrap reads /proc/self/mountinfo again for every bind it makes, so binding N inputs through
 * bwrap costs O(N^2); here each input costs a mkdir on a tmpfs and one bind, and the binds are
 * made read-only all at once. With `overlay`, STOREDIR becomes an overlay: the lower layer is
 * a tmpfs holding one entry per input (an empty directory or file, on which the input is
 * bound, or the symlink itself, recreated so that it resolves inside the sandbox), the upper
 * layer is the scratch directory's upper/, where the outputs land. With `direct` (where the
 * kernel refuses an overlay to this user, e.g. on an upper layer it does not own), upper/ is
 * bound on STOREDIR and the entries are made in it, on the host's file system. Then the whole
 * store is unmounted, every capability dropped, and the builder executed.
 *
 *   hepstore-sandbox-init overlay|direct STOREDIR UID GID -- BUILDER ARGS...
 *
 * bwrap runs it as root of the sandbox's user namespace (which owns the mount namespace); it
 * ends by entering a user namespace nested in that one, as UID and GID, so the builder holds
 * no capability over its mounts even in principle (bwrap does the same to change uid after
 * mounting /dev/pts, but then it would run this program there, unable to mount).
 *
 *   hepstore-sandbox-init MODE STOREDIR UID GID -- /proc/self/exe --ok   (the set-up check)
 *
 * Built as a static binary (a hermetic sandbox has no /lib); exit status 127 and a message on
 * stderr if the sandbox cannot be set up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/capability.h>

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV 0x00000004
struct mount_attr {
  unsigned long long attr_set, attr_clr, propagation, userns_fd;
};
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

#define BASE "/.hepstore"

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("hepstore-sandbox-init: ", stderr);
  vfprintf(stderr, fmt, ap);
  if (errno) fprintf(stderr, ": %s", strerror(errno));
  fputc('\n', stderr);
  va_end(ap);
  _exit(127);
}

static char *join(const char *a, const char *b) {
  char *s;
  if (asprintf(&s, "%s/%s", a, b) < 0) die("out of memory");
  return s;
}

/* The names of the inputs: store path base names, one a line, no '/' and not "." or "..". */
static char **read_inputs(size_t *count) {
  FILE *f = fopen(BASE "/out/inputs", "r");
  if (!f) die("cannot open the input list");
  size_t n = 0, cap = 64;
  char **names = malloc(cap * sizeof *names);
  char *line = NULL;
  size_t len = 0;
  ssize_t got;
  while ((got = getline(&line, &len, f)) > 0) {
    if (line[got - 1] == '\n') line[--got] = 0;
    if (got == 0) continue;
    errno = 0;
    if (strchr(line, '/') || !strcmp(line, ".") || !strcmp(line, "..")) die("bad input name '%s'", line);
    if (n == cap) names = realloc(names, (cap *= 2) * sizeof *names);
    if (!names) die("out of memory");
    names[n++] = strdup(line);
  }
  free(line);
  fclose(f);
  *count = n;
  return names;
}

static int set_attrs(const char *path, unsigned flags, unsigned long long set, unsigned long long clr) {
  struct mount_attr a = {.attr_set = set, .attr_clr = clr};
  return syscall(SYS_mount_setattr, AT_FDCWD, path, flags, &a, sizeof a);
}

static void write_file(const char *file, const char *text) {
  int fd = open(file, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) die("cannot write %s", file);
  close(fd);
}

/* A nested user namespace in which the builder is UID:GID, mapped to root of this one. */
static void become(const char *uid, const char *gid) {
  char map[64];
  if (unshare(CLONE_NEWUSER) != 0) die("cannot make the builder's user namespace");
  write_file("/proc/self/setgroups", "deny");
  snprintf(map, sizeof map, "%s 0 1\n", uid);
  write_file("/proc/self/uid_map", map);
  snprintf(map, sizeof map, "%s 0 1\n", gid);
  write_file("/proc/self/gid_map", map);
  if (setresgid(atoi(gid), atoi(gid), atoi(gid)) != 0 || setresuid(atoi(uid), atoi(uid), atoi(uid)) != 0) die("cannot become %s:%s", uid, gid);
}

static void drop_capabilities(void) {
  for (int c = 0; c <= 63; c++)
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL) die("cannot drop capability %d", c);
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) die("cannot clear the ambient capabilities");
  struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct d[2];
  memset(d, 0, sizeof d);
  if (syscall(SYS_capset, &h, d) != 0) die("cannot drop the capabilities");
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die("cannot set no_new_privs");
}

int main(int argc, char **argv) {
  /* What hepstore runs, as the builder, to see whether the sandbox can be set up here. */
  if (argc == 2 && !strcmp(argv[1], "--ok")) {
    puts("hepstore-sandbox-init: ok");
    return 0;
  }
  if (argc < 7 || strcmp(argv[5], "--") != 0 || (strcmp(argv[1], "overlay") && strcmp(argv[1], "direct"))) {
    fputs("usage: hepstore-sandbox-init overlay|direct STOREDIR UID GID -- BUILDER ARGS...\n", stderr);
    return 127;
  }
  int overlay = !strcmp(argv[1], "overlay");
  const char *store = argv[2];
  /* Where the entries of the inputs are made: the overlay's lower layer, or the store itself. */
  const char *skeleton = overlay ? BASE "/lower" : store;
  size_t n;
  char **names = read_inputs(&n);
  errno = 0;
  if (overlay) {
    if (mount("tmpfs", BASE "/lower", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0) die("cannot mount the tmpfs of the input skeleton");
  } else if (mount(BASE "/out/upper", store, NULL, MS_BIND, NULL) != 0) {
    die("cannot bind the scratch directory on %s", store);
  }
  /* 'd' or 'f': an input bound on its mountpoint; 'l': a symlink, recreated. */
  char *kind = malloc(n ? n : 1);
  if (!kind) die("out of memory");
  char target[PATH_MAX];
  for (size_t i = 0; i < n; i++) {
    char *src = join(BASE "/store", names[i]);
    char *at = join(skeleton, names[i]);
    struct stat st;
    if (lstat(src, &st) != 0) die("input %s is missing", src);
    if (S_ISDIR(st.st_mode)) {
      if (mkdir(at, 0555) != 0) die("cannot make %s", at);
      kind[i] = 'd';
    } else if (S_ISREG(st.st_mode)) {
      int f = open(at, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0444);
      if (f < 0) die("cannot make %s", at);
      close(f);
      kind[i] = 'f';
    } else if (S_ISLNK(st.st_mode)) {
      ssize_t len = readlink(src, target, sizeof target - 1);
      if (len < 0) die("cannot read the symlink %s", src);
      target[len] = 0;
      if (symlink(target, at) != 0) die("cannot make %s", at);
      kind[i] = 'l';
    } else {
      die("input %s is neither a directory, a file nor a symlink", src);
    }
    free(src);
    free(at);
  }

  if (overlay) {
    char *opts;
    if (asprintf(&opts, "lowerdir=%s,upperdir=%s,workdir=%s,userxattr", BASE "/lower", BASE "/out/upper", BASE "/out/work") < 0) die("out of memory");
    if (mount("overlay", store, "overlay", MS_NOSUID | MS_NODEV, opts) != 0) die("cannot mount the overlay on %s", store);
    free(opts);
  }
  /* What is bound is what is opened, without following a symlink: never a host path. */
  char proc[64];
  for (size_t i = 0; i < n; i++) {
    if (kind[i] == 'l') continue;
    char *src = join(BASE "/store", names[i]);
    char *at = join(store, names[i]);
    struct stat st;
    int fd = open(src, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) die("input %s is missing", src);
    if (!(kind[i] == 'd' ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode))) die("input %s changed while the sandbox was being made", src);
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    if (mount(proc, at, NULL, MS_BIND, NULL) != 0) die("cannot bind %s", src);
    close(fd);
    free(src);
    free(at);
  }
  /* Every input read-only in one call, then the store directory itself writable again. */
  if (set_attrs(store, AT_RECURSIVE, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0) == 0) {
    if (set_attrs(store, 0, 0, MOUNT_ATTR_RDONLY) != 0) die("cannot make %s writable", store);
  } else if (errno == ENOSYS) {
    /* Before Linux 5.12: one remount per input. */
    errno = 0;
    for (size_t i = 0; i < n; i++) {
      if (kind[i] == 'l') continue;
      char *at = join(store, names[i]);
      if (mount(NULL, at, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) != 0) die("cannot make %s read-only", at);
      free(at);
    }
  } else {
    die("cannot make the inputs read-only");
  }

  /* Nothing of the whole store, the skeleton or the scratch directory stays reachable. */
  static const char *const gone[] = {BASE "/store", BASE "/out", BASE "/init", BASE "/lower"};
  for (size_t i = 0; i < sizeof gone / sizeof *gone - !overlay; i++)
    if (umount2(gone[i], MNT_DETACH) != 0) die("cannot unmount %s", gone[i]);
  rmdir(BASE "/store");
  rmdir(BASE "/lower");
  rmdir(BASE "/out");
  unlink(BASE "/init");
  rmdir(BASE);

  become(argv[3], argv[4]);
  drop_capabilities();
  execvp(argv[6], argv + 6);
  die("cannot run %s", argv[6]);
}
