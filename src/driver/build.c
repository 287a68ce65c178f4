/* build.c: the build-and-run helper's two halves: running the system C
 * compiler on emitted code (one flag set, one compiler lookup) and the
 * temporary files and folders of `aotc run`, `aotc tune` and compile's
 * output, removed on the normal path and, from a table of tracked paths,
 * by a handler on SIGINT, SIGTERM and SIGHUP. The table and the handler are
 * the one piece of process-wide state: a signal handler has nothing else
 * to reach. */
#define _GNU_SOURCE
#include "build.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_TRACKED 256
#define MAX_PATH 512
#define MAX_CHILDREN 16
#define MAX_ARGS 64

static const ir_loc noloc;

/* ------------------------------------------------------------------------
 * Tracked paths and children, and the signal handler
 * ------------------------------------------------------------------------ */

static struct {
  char path[MAX_TRACKED][MAX_PATH];
  volatile sig_atomic_t used[MAX_TRACKED];
  volatile pid_t children[MAX_CHILDREN];
  pid_t owner; /* the process that tracks: forked children do not clean */
  bool installed;
} tracked;

/* Async-signal-safe: stops the compilers, removes the tracked files, then
 * the folders (twice over, for a folder inside another), then dies of the
 * signal. */
static void on_fatal_signal(int sig)
{
  if (getpid() == tracked.owner) {
    for (int i = 0; i < MAX_CHILDREN; i++)
      if (tracked.children[i] > 0 && !kill(tracked.children[i], SIGKILL))
        waitpid(tracked.children[i], NULL, 0);
    for (int sweep = 0; sweep < 3; sweep++)
      for (int i = MAX_TRACKED - 1; i >= 0; i--)
        if (tracked.used[i])
          sweep ? rmdir(tracked.path[i]) : unlink(tracked.path[i]);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

static void install_handler(void)
{
  static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
  if (tracked.installed && tracked.owner == getpid())
    return;
  tracked.owner = getpid();
  tracked.installed = true;
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    if (!sigaction(sigs[i], NULL, &old) && old.sa_handler != SIG_IGN)
      sigaction(sigs[i], &sa, NULL);
  }
}

void driver_tmp_track(const char *path)
{
  size_t n = strlen(path);
  install_handler();
  for (int i = 0; n < MAX_PATH && i < MAX_TRACKED; i++)
    if (!tracked.used[i]) {
      memcpy(tracked.path[i], path, n + 1);
      tracked.used[i] = 1;
      return;
    }
}

/* Whether p is path or lies under it. */
static bool under(const char *p, const char *path, size_t n)
{
  return !strncmp(p, path, n) && (p[n] == 0 || p[n] == '/');
}

void driver_tmp_keep(const char *path)
{
  size_t n = strlen(path);
  for (int i = 0; i < MAX_TRACKED; i++)
    if (tracked.used[i] && under(tracked.path[i], path, n))
      tracked.used[i] = 0;
}

static void remove_tree(const char *path)
{
  DIR *d = opendir(path);
  struct dirent *e;
  char sub[MAX_PATH * 2];
  if (!d) {
    unlink(path);
    return;
  }
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
      snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
      remove_tree(sub);
    }
  closedir(d);
  rmdir(path);
}

bool driver_is_special_file(const char *path)
{
  struct stat st;
  return !stat(path, &st) && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

void driver_tmp_remove(const char *path)
{
  remove_tree(path);
  driver_tmp_keep(path);
}

bool driver_tmpdir_new(aotc_ctx *ctx, const char *purpose, char *dir, size_t cap)
{
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, cap, "%s/aotc-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", purpose);
  if (!mkdtemp(dir)) {
    aotc_error(ctx, noloc, "cannot create a temporary directory in '%s': %s", tmp && *tmp ? tmp : "/tmp",
               strerror(errno));
    dir[0] = 0;
    return false;
  }
  driver_tmp_track(dir);
  return true;
}

static void track_child(pid_t pid, pid_t replace)
{
  for (int i = 0; i < MAX_CHILDREN; i++)
    if (tracked.children[i] == replace) {
      tracked.children[i] = pid;
      return;
    }
}

/* ------------------------------------------------------------------------
 * The compiler
 * ------------------------------------------------------------------------ */

const char *driver_compiler(const char *cc)
{
  const char *env = getenv("CC");
  return cc && *cc ? cc : env && *env ? env : "cc";
}

int driver_build_argv(const driver_build_request *r, const char **argv, int cap)
{
  static const char *const flags[] = {DRIVER_CFLAGS};
  int n = 0;
  if (cap < MAX_ARGS || r->n_sources > MAX_ARGS - 16)
    return -1;
  argv[n++] = driver_compiler(r->cc);
  for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
    argv[n++] = flags[i];
  argv[n++] = "-fopenmp";
  if (r->kind == DRIVER_BUILD_SHARED)
    argv[n++] = "-fPIC", argv[n++] = "-shared", argv[n++] = "-Wl,-Bsymbolic";
  argv[n++] = "-o";
  argv[n++] = r->output;
  for (int i = 0; i < r->n_sources; i++)
    argv[n++] = r->sources[i];
  argv[n++] = "-lm";
  argv[n] = NULL;
  return n;
}

static void print_command(const char *const *argv)
{
  for (int i = 0; argv[i]; i++)
    fprintf(stderr, "%s%s", i ? " " : "", argv[i]);
  fputc('\n', stderr);
}

/* In the child: messages to the log, a time limit, exec the compiler. */
static void child_exec(const driver_build_request *r, const char **argv)
{
  if (r->log) {
    int fd = open(r->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || dup2(fd, 2) < 0)
      _exit(126);
    close(fd);
  }
  if (r->time_limit)
    alarm(r->time_limit);
  execvp(argv[0], (char *const *)argv);
  fprintf(stderr, "cannot run '%s': %s\n", argv[0], strerror(errno));
  _exit(127);
}

pid_t driver_build_start(const driver_build_request *r)
{
  const char *argv[MAX_ARGS];
  if (driver_build_argv(r, argv, MAX_ARGS) < 0) {
    errno = E2BIG;
    return -1;
  }
  if (r->verbose)
    print_command(argv);
  install_handler();
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0)
    child_exec(r, argv);
  if (pid > 0)
    track_child(pid, 0);
  return pid;
}

pid_t driver_build_wait_any(int *status)
{
  pid_t pid;
  while ((pid = wait(status)) < 0 && errno == EINTR)
    ;
  if (pid > 0)
    track_child(0, pid);
  return pid;
}

void driver_build_log_line(const char *path, char *line, size_t cap)
{
  FILE *in = path ? fopen(path, "r") : NULL;
  line[0] = 0;
  if (in && fgets(line, (int)cap, in))
    line[strcspn(line, "\n")] = 0;
  if (in)
    fclose(in);
}

bool driver_build(aotc_ctx *ctx, const driver_build_request *r)
{
  int status = 0;
  pid_t pid = driver_build_start(r), got = -1;
  if (pid < 0) {
    aotc_error(ctx, noloc, "cannot start '%s': %s", driver_compiler(r->cc), strerror(errno));
    return false;
  }
  while ((got = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
    ;
  track_child(0, pid);
  if (got == pid && WIFEXITED(status) && !WEXITSTATUS(status))
    return true;
  char line[256];
  driver_build_log_line(r->log, line, sizeof line);
  aotc_error(ctx, noloc, "'%s' failed on the emitted code%s%s", driver_compiler(r->cc), line[0] ? ": " : "", line);
  return false;
}
