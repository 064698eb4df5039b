/*
 * Tests of the C ABI, in C, compiled against the INSTALLED header and library
 * (tests/capi/installed.sh builds this file with pkg-config). Run as root in a
 * private mount namespace (the script wraps it in `unshare -m`); the sharer
 * tests skip, saying so, when not root.
 *
 *   capi_test EXPECTED_VERSION
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vmshare/vmshare.h>

static int failures = 0;
static const char *current = "";

#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      fprintf(stderr, "FAIL %s (%s:%d): %s\n", current, __FILE__, __LINE__, #cond); \
      failures++;                                                                   \
    }                                                                               \
  } while (0)

/* rc must be `want`, with a message that contains `needle` (when not NULL)
 * and carries no program-name prefix; frees the message. */
static void check_error(int rc, int want, char *error, const char *needle, int line) {
  if (rc != want) {
    fprintf(stderr, "FAIL %s (line %d): rc %d, want %d (%s)\n", current, line, rc, want,
            error ? error : "no message");
    failures++;
  } else if (error == NULL) {
    fprintf(stderr, "FAIL %s (line %d): no error message\n", current, line);
    failures++;
  } else if (strncmp(error, "vmshare:", 8) == 0 || (needle && strstr(error, needle) == NULL)) {
    fprintf(stderr, "FAIL %s (line %d): message \"%s\" lacks \"%s\" or has a prefix\n", current,
            line, error, needle ? needle : "");
    failures++;
  }
  vmshare_free(error);
}
/* The call runs before `error` is read: a statement, not one expression. */
#define CHECK_ERROR(call, want, error, needle)             \
  do {                                                     \
    int rc_ = (call);                                      \
    check_error(rc_, (want), (error), (needle), __LINE__); \
  } while (0)

/* rc must be 0 and error NULL; prints the message otherwise. */
static void check_ok(int rc, char *error, int line) {
  if (rc != 0 || error != NULL) {
    fprintf(stderr, "FAIL %s (line %d): rc %d: %s\n", current, line, rc, error ? error : "");
    failures++;
  }
  vmshare_free(error);
}
#define CHECK_OK(call, error)         \
  do {                                \
    int rc_ = (call);                 \
    check_ok(rc_, (error), __LINE__); \
  } while (0)

static char *fmt(const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  char *out = NULL;
  if (vasprintf(&out, f, ap) < 0) abort();
  va_end(ap);
  return out;
}

/* The string value of the first "key":"value" in a JSON text (malloc'd), or
 * NULL. Good enough for the documents under test (no escapes in paths). */
static char *json_string(const char *json, const char *key) {
  char *pat = fmt("\"%s\":\"", key);
  const char *at = json ? strstr(json, pat) : NULL;
  char *out = NULL;
  if (at) {
    at += strlen(pat);
    const char *end = strchr(at, '"');
    if (end) out = strndup(at, (size_t)(end - at));
  }
  free(pat);
  return out;
}

static int exists(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (!f) abort();
  fputs(text, f);
  fclose(f);
}

/* Whether any line of /proc/self/mountinfo names a path under `prefix`. */
static int mounted_under(const char *prefix) {
  FILE *f = fopen("/proc/self/mountinfo", "r");
  char line[4096];
  int found = 0;
  char *pat = fmt(" %s", prefix);
  while (f && fgets(line, sizeof line, f))
    if (strstr(line, pat)) found = 1;
  free(pat);
  if (f) fclose(f);
  return found;
}

static char *make_tmp(void) {
  char *t = strdup("/tmp/vmshare-capi-test-XXXXXX");
  if (!mkdtemp(t)) abort();
  return t;
}

/* ---- tests ------------------------------------------------------------ */

static void test_version_and_free(const char *want) {
  current = "version";
  CHECK(vmshare_version() != NULL);
  CHECK(strcmp(vmshare_version(), want) == 0);
  vmshare_free(NULL);
}

static void test_null_arguments(void) {
  current = "null arguments";
  char *error = NULL;
  vmshare_sharer *s = NULL;
  CHECK_ERROR(vmshare_sharer_open(NULL, &s, &error), -EINVAL, error, "config_json is NULL");
  CHECK(s == NULL);
  CHECK_ERROR(vmshare_sharer_open("{\"sandbox_id\":\"s1\"}", NULL, &error), -EINVAL, error,
              "out is NULL");
  CHECK(vmshare_sharer_open(NULL, &s, NULL) == -EINVAL); /* error may be NULL */
  CHECK_ERROR(vmshare_prepare(NULL, &error), -EINVAL, error, "prepare sandbox");
  CHECK_ERROR(vmshare_cleanup(NULL, &error), -EINVAL, error, "clean up sandbox");
  CHECK_ERROR(vmshare_share_file(NULL, "{}", "{}", NULL, &error), -EINVAL, error, "share file");
  CHECK_ERROR(vmshare_unshare_file(NULL, "{}", "{}", &error), -EINVAL, error, "unshare file");
  CHECK_ERROR(vmshare_share_rootfs(NULL, "{}", NULL, &error), -EINVAL, error, "share rootfs");
  CHECK_ERROR(vmshare_unshare_rootfs(NULL, "{}", &error), -EINVAL, error, "unshare rootfs");
  CHECK_ERROR(vmshare_start_file_event_watcher(NULL, &error), -EINVAL, error, "watcher");
  vmshare_stop_file_event_watcher(NULL);
  vmshare_sharer_close(NULL);

  vmshare_store *st = NULL;
  vmshare_lock *lk = NULL;
  char *out = NULL;
  CHECK_ERROR(vmshare_store_open(NULL, &st, &error), -EINVAL, error, "config_json is NULL");
  CHECK_ERROR(vmshare_store_save_sandbox(NULL, "s1", "{}", &error), -EINVAL, error,
              "store is NULL");
  CHECK_ERROR(vmshare_store_save_container(NULL, "s1", "{}", &error), -EINVAL, error,
              "store is NULL");
  CHECK_ERROR(vmshare_store_load_sandbox(NULL, "s1", &out, &error), -EINVAL, error,
              "store is NULL");
  CHECK(out == NULL);
  CHECK_ERROR(vmshare_store_remove_container(NULL, "s1", "c1", &error), -EINVAL, error,
              "store is NULL");
  CHECK_ERROR(vmshare_store_destroy_sandbox(NULL, "s1", &error), -EINVAL, error, "store is NULL");
  CHECK_ERROR(vmshare_store_lock(NULL, "s1", 0, &lk, &error), -EINVAL, error, "store is NULL");
  vmshare_store_close(NULL);
  vmshare_store_unlock(NULL);

  char *tmp = make_tmp();
  char *config = fmt("{\"root\":\"%s\"}", tmp);
  CHECK_OK(vmshare_store_open(config, &st, &error), error);
  CHECK_ERROR(vmshare_store_save_sandbox(st, NULL, "{}", &error), -EINVAL, error,
              "sandbox_id is NULL");
  CHECK_ERROR(vmshare_store_save_sandbox(st, "s1", NULL, &error), -EINVAL, error,
              "sandbox_json is NULL");
  CHECK_ERROR(vmshare_store_save_container(st, "s1", NULL, &error), -EINVAL, error,
              "container_json is NULL");
  CHECK_ERROR(vmshare_store_load_sandbox(st, "s1", NULL, &error), -EINVAL, error,
              "sandbox_json is NULL");
  CHECK_ERROR(vmshare_store_remove_container(st, "s1", NULL, &error), -EINVAL, error,
              "container_id is NULL");
  CHECK_ERROR(vmshare_store_lock(st, "s1", 0, NULL, &error), -EINVAL, error, "out is NULL");
  vmshare_store_close(st);
  CHECK(rmdir(tmp) == 0); /* nothing was created */
  free(config);
  free(tmp);
}

static void test_bad_config(void) {
  current = "bad config";
  static const struct {
    const char *json;
    const char *needle;
  } cases[] = {
      {"", "config_json"},
      {"not json", "config_json"},
      {"[1]", "expected a JSON object"},
      {"{}", "sandbox_id is required"},
      {"{\"sandbox_id\": \"../x\"}", "invalid sandbox id"},
      {"{\"sandbox_id\": 7}", "field sandbox_id: expected a string"},
      {"{\"sandbox_id\": \"s1\", \"root\": \"relative\"}", "field root: expected an absolute path"},
      {"{\"sandbox_id\": \"s1\", \"persist\": \"yes\"}", "field persist: expected a boolean"},
      {"{\"sandbox_id\": \"s1\", \"sandbox_bind_mounts\": [1]}", "sandbox_bind_mounts"},
      {"{\"sandbox_id\": \"s1\", \"colour\": \"red\"}", "unknown key \"colour\""},
      {"{\"sandbox_id\": \"s1\", \"shared_fs\": \"9p\"}", "\"9p\""},
      {"{\"sandbox_id\": \"s1\", \"guest_shared_dir\": \"/elsewhere\"}", "guest_shared_dir"},
      {"{\"sandbox_id\": \"s1\", \"share_base\": \"base\"}",
       "field share_base: expected an absolute path"},
      {"{\"sandbox_id\": \"s1\", \"rootfs_name\": \"a/b\"}", "a/b"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *error = NULL;
    vmshare_sharer *s = (vmshare_sharer *)&error; /* must be reset to NULL */
    int rc = vmshare_sharer_open(cases[i].json, &s, &error);
    CHECK(s == NULL);
    CHECK_ERROR(rc, -EINVAL, error, cases[i].needle);
  }
  char *error = NULL;
  vmshare_store *st = NULL;
  CHECK_ERROR(vmshare_store_open("{\"root\": \"x\"}", &st, &error), -EINVAL, error,
              "absolute path");
  CHECK_ERROR(vmshare_store_open("{\"rot\": \"/x\"}", &st, &error), -EINVAL, error, "unknown key");
  CHECK(st == NULL);
}

struct fixture {
  char *tmp, *root, *src, *config;
  vmshare_sharer *s;
  vmshare_store *st;
};

static void setup(struct fixture *f) {
  f->tmp = make_tmp();
  f->root = fmt("%s/root", f->tmp);
  f->src = fmt("%s/src", f->tmp);
  mkdir(f->src, 0755);
  char *file = fmt("%s/hello", f->src);
  write_file(file, "hello\n");
  free(file);
  f->config = fmt("{\"sandbox_id\": \"s1\", \"root\": \"%s\"}", f->root);
  char *error = NULL;
  CHECK_OK(vmshare_sharer_open(f->config, &f->s, &error), error);
  char *sc = fmt("{\"root\": \"%s\"}", f->root);
  CHECK_OK(vmshare_store_open(sc, &f->st, &error), error);
  free(sc);
}

static void teardown(struct fixture *f) {
  char *error = NULL;
  CHECK_OK(vmshare_cleanup(f->s, &error), error);
  CHECK(!mounted_under(f->tmp));
  char *tree = fmt("%s/sandboxes/s1", f->root), *state = fmt("%s/sbs/s1", f->root);
  CHECK(!exists(tree) && !exists(state));
  free(tree), free(state);
  vmshare_sharer_close(f->s);
  vmshare_store_close(f->st);
  char *cmd = fmt("rm -rf '%s'", f->tmp);
  if (system(cmd) != 0) abort();
  free(cmd);
  free(f->tmp), free(f->root), free(f->src), free(f->config);
}

static char *load(struct fixture *f) {
  char *out = NULL, *error = NULL;
  CHECK_OK(vmshare_store_load_sandbox(f->st, "s1", &out, &error), error);
  return out;
}

static void test_share_lifecycle(void) {
  current = "share lifecycle";
  struct fixture f;
  setup(&f);
  char *error = NULL, *result = NULL;
  CHECK_OK(vmshare_prepare(f.s, &error), error);
  CHECK_OK(vmshare_prepare(f.s, &error), error); /* idempotent */
  char *sbx = load(&f);
  CHECK(sbx && strstr(sbx, "\"State\":\"ready\""));
  vmshare_free(sbx);

  /* A read-write share: writes through the host path reach the source. */
  char *rw = fmt("{\"Source\": \"%s\", \"Destination\": \"/data\", \"Type\": \"bind\"}", f.src);
  CHECK_OK(vmshare_share_file(f.s, "{\"ID\": \"c1\"}", rw, &result, &error), error);
  CHECK(result && strstr(result, "\"Mounted\":true"));
  CHECK(result && strstr(result, "\"guest_path\":\"/run/kata-containers/shared/containers/c1-"));
  char *host_rw = json_string(result, "HostPath");
  CHECK(host_rw != NULL);
  vmshare_free(result);
  char *probe = fmt("%s/written", host_rw ? host_rw : "/nonexistent");
  write_file(probe, "x");
  char *in_src = fmt("%s/written", f.src);
  CHECK(exists(in_src));
  char *rec = load(&f);
  CHECK(rec && host_rw && strstr(rec, host_rw)); /* recorded */
  vmshare_free(rec);

  /* Read-only: a write fails with EROFS. */
  char *ro = fmt("{\"Source\": \"%s\", \"Destination\": \"/ro\", \"ReadOnly\": true}", f.src);
  CHECK_OK(vmshare_share_file(f.s, "{\"ID\": \"c1\"}", ro, &result, &error), error);
  char *host_ro = json_string(result, "HostPath");
  vmshare_free(result);
  char *ro_file = fmt("%s/nope", host_ro ? host_ro : "/nonexistent");
  int fd = open(ro_file, O_WRONLY | O_CREAT, 0644);
  CHECK(fd < 0 && errno == EROFS);
  if (fd >= 0) close(fd);

  /* Unshare: unmounted, mountpoint gone, record says so. */
  char *m =
      fmt("{\"Source\": \"%s\", \"Destination\": \"/data\", \"HostPath\": \"%s\"}", f.src, host_rw);
  CHECK_OK(vmshare_unshare_file(f.s, "{\"ID\": \"c1\"}", m, &error), error);
  CHECK(host_rw && !exists(host_rw));
  rec = load(&f);
  CHECK(rec && host_rw && !strstr(rec, host_rw));
  vmshare_free(rec);
  CHECK_OK(vmshare_unshare_file(f.s, "{\"ID\": \"c1\"}", m, &error),
           error); /* again: not an error */

  /* Rootfs. */
  char *c2 =
      fmt("{\"ID\": \"c2\", \"Rootfs\": {\"Source\": \"%s\", \"Destination\": \"/\", \"Type\": "
          "\"bind\"}}",
          f.src);
  CHECK_OK(vmshare_share_rootfs(f.s, c2, &result, &error), error);
  CHECK(result &&
        strstr(result, "\"guest_path\":\"/run/kata-containers/shared/containers/c2/rootfs\""));
  char *host_root = json_string(result, "HostPath");
  vmshare_free(result);
  char *hello = fmt("%s/hello", host_root ? host_root : "/nonexistent");
  CHECK(exists(hello));
  CHECK_OK(vmshare_unshare_rootfs(f.s, c2, &error), error);
  CHECK(!exists(hello));

  /* The read-only share is never unshared: cleanup takes it down. */
  teardown(&f);
  free(rw), free(ro), free(m), free(c2), free(host_rw), free(host_ro), free(host_root);
  free(probe), free(in_src), free(ro_file), free(hello);
}

static void test_bad_input_changes_nothing(void) {
  current = "bad input changes nothing";
  struct fixture f;
  setup(&f);
  char *error = NULL, *result = NULL;
  /* Not prepared yet: nothing may be created. */
  char *mnt = fmt("{\"Source\": \"%s\", \"Destination\": \"/data\"}", f.src);
  CHECK_ERROR(vmshare_share_file(f.s, "{\"ID\": \"c1\"}", mnt, &result, &error), -ENOENT, error,
              "sandbox \"s1\" does not exist");
  CHECK(result == NULL);
  char *state = fmt("%s/sbs/s1", f.root);
  CHECK(!exists(state));
  free(state);
  CHECK_OK(vmshare_prepare(f.s, &error), error);
  char *before = load(&f);

  CHECK_ERROR(vmshare_share_file(f.s, "{\"ID\": \"c1\"}",
                                 "{\"Source\": \"/nonexistent/vmshare\", \"Destination\": \"/d\"}",
                                 &result, &error),
              -ENOENT, error, "/nonexistent/vmshare");
  CHECK_ERROR(
      vmshare_share_file(f.s, "{\"ID\": \"c1\"}",
                         "{\"Source\": \"relative\", \"Destination\": \"/d\"}", &result, &error),
      -EINVAL, error, "relative");
  CHECK_ERROR(vmshare_share_file(f.s, "{\"ID\": \"../c\"}", mnt, &result, &error), -EINVAL, error,
              "invalid container id");
  CHECK_ERROR(vmshare_share_file(f.s, "{}", mnt, &result, &error), -EINVAL, error,
              "ID is required");
  CHECK_ERROR(
      vmshare_share_file(f.s, "{\"ID\": \"c1\"}", "{\"ReadOnly\": \"yes\"}", &result, &error),
      -EINVAL, error, "ReadOnly");
  CHECK_ERROR(vmshare_share_file(f.s, "{\"ID\": \"c1\", \"Mounts\": 3}", mnt, &result, &error),
              -EINVAL, error, "Mounts");
  CHECK_ERROR(
      vmshare_share_rootfs(f.s, "{\"ID\": \"c1\", \"Rootfs\": {\"Source\": \"/nonexistent/r\"}}",
                           &result, &error),
      -ENOENT, error, "/nonexistent/r");
  CHECK(result == NULL);
  char *after = load(&f);
  CHECK(before && after && strcmp(before, after) == 0);
  if (before && after && strcmp(before, after) != 0)
    fprintf(stderr, "before: %s\nafter:  %s\n", before, after);
  vmshare_free(before), vmshare_free(after);

  /* The sandbox lock held elsewhere: -EBUSY, nothing shared. */
  vmshare_lock *lk = NULL;
  CHECK_OK(vmshare_store_lock(f.st, "s1", VMSHARE_LOCK_EXCLUSIVE, &lk, &error), error);
  CHECK_ERROR(vmshare_share_file(f.s, "{\"ID\": \"c1\"}", mnt, &result, &error), -EBUSY, error,
              "sandbox \"s1\"");
  CHECK_ERROR(vmshare_cleanup(f.s, &error), -EBUSY, error, "sandbox \"s1\"");
  vmshare_store_unlock(lk);
  teardown(&f);
  free(mnt);
}

static void test_store_round_trip(void) {
  current = "store round trip";
  char *tmp = make_tmp();
  char *config = fmt("{\"root\": \"%s\"}", tmp);
  vmshare_store *st = NULL;
  char *error = NULL, *out = NULL;
  CHECK_OK(vmshare_store_open(config, &st, &error), error);
  CHECK_ERROR(vmshare_store_load_sandbox(st, "s1", &out, &error), -ENOENT, error, "sandbox \"s1\"");
  CHECK_ERROR(vmshare_store_save_container(st, "s1", "{\"ID\": \"c1\"}", &error), -ENOENT, error,
              "s1");
  CHECK_OK(vmshare_store_save_sandbox(
               st, "s1", "{\"State\": \"running\", \"SandboxContainer\": \"s1\"}", &error),
           error);
  CHECK_ERROR(vmshare_store_save_sandbox(st, "s1", "{\"PersistVersion\": 9}", &error), -EINVAL,
              error, "PersistVersion");
  CHECK_OK(vmshare_store_save_container(st, "s1",
                                        "{\"ID\": \"c1\", \"State\": \"ready\", \"Mounts\": "
                                        "[{\"Source\": \"/a\", \"Destination\": \"/b\", "
                                        "\"ReadOnly\": true}]}",
                                        &error),
           error);
  CHECK_OK(vmshare_store_save_container(st, "s1", "{\"ID\": \"c2\"}", &error), error);
  CHECK_ERROR(vmshare_store_save_container(st, "s1", "{\"ID\": \"c1\", \"State\": 1}", &error),
              -EINVAL, error, "State");
  CHECK_OK(vmshare_store_load_sandbox(st, "s1", &out, &error), error);
  CHECK(out && strstr(out, "\"State\":\"running\""));
  CHECK(out && strstr(out, "\"c1\":{\"ID\":\"c1\""));
  CHECK(out && strstr(out, "\"Destination\":\"/b\""));
  CHECK(out && strstr(out, "\"c2\":{"));
  vmshare_free(out);
  CHECK_OK(vmshare_store_remove_container(st, "s1", "c2", &error), error);
  CHECK_OK(vmshare_store_remove_container(st, "s1", "c2", &error), error); /* missing: fine */
  CHECK_OK(vmshare_store_load_sandbox(st, "s1", &out, &error), error);
  CHECK(out && !strstr(out, "\"c2\""));
  vmshare_free(out);

  /* Locks: shared twice, exclusive refused while shared is held. */
  vmshare_lock *a = NULL, *b = NULL, *x = NULL;
  CHECK_OK(vmshare_store_lock(st, "s1", VMSHARE_LOCK_SHARED, &a, &error), error);
  CHECK_OK(vmshare_store_lock(st, "s1", VMSHARE_LOCK_SHARED | VMSHARE_LOCK_NONBLOCK, &b, &error),
           error);
  CHECK_ERROR(
      vmshare_store_lock(st, "s1", VMSHARE_LOCK_EXCLUSIVE | VMSHARE_LOCK_NONBLOCK, &x, &error),
      -EBUSY, error, "sandbox \"s1\"");
  CHECK(x == NULL);
  CHECK_ERROR(vmshare_store_lock(st, "s1", 8, &x, &error), -EINVAL, error, "flags");
  vmshare_store_unlock(a);
  vmshare_store_unlock(b);
  CHECK_OK(vmshare_store_lock(st, "s1", VMSHARE_LOCK_EXCLUSIVE | VMSHARE_LOCK_NONBLOCK, &x, &error),
           error);
  vmshare_store_unlock(x);

  /* A corrupt document: -EIO naming the file. */
  char *doc = fmt("%s/sbs/s1/c1/persist.json", tmp);
  write_file(doc, "{\"State\": ");
  CHECK_ERROR(vmshare_store_load_sandbox(st, "s1", &out, &error), -EIO, error, doc);

  CHECK_OK(vmshare_store_destroy_sandbox(st, "s1", &error), error);
  CHECK_OK(vmshare_store_destroy_sandbox(st, "s1", &error), error);
  CHECK_ERROR(vmshare_store_load_sandbox(st, "s1", &out, &error), -ENOENT, error, "s1");
  CHECK_ERROR(vmshare_store_destroy_sandbox(st, "a/b", &error), -EINVAL, error,
              "invalid sandbox id");
  vmshare_store_close(st);
  char *cmd = fmt("rm -rf '%s'", tmp);
  if (system(cmd) != 0) abort();
  free(cmd), free(doc), free(config), free(tmp);
}

static void test_kata_layout(void) {
  current = "share_base and rootfs_name";
  char *tmp = make_tmp();
  char *src = fmt("%s/src", tmp), *base = fmt("%s/kata", tmp);
  mkdir(src, 0755);
  char *hello = fmt("%s/hello", src);
  write_file(hello, "hi\n");
  char *config =
      fmt("{\"sandbox_id\": \"s1\", \"root\": \"%s/root\", \"share_base\": \"%s\", "
          "\"rootfs_name\": \"rfs\"}",
          tmp, base);
  vmshare_sharer *s = NULL;
  char *error = NULL, *result = NULL;
  CHECK_OK(vmshare_sharer_open(config, &s, &error), error);
  CHECK_OK(vmshare_prepare(s, &error), error);
  char *mounts = fmt("%s/s1/mounts", base);
  CHECK(exists(mounts));
  char *c = fmt("{\"ID\": \"c1\", \"Rootfs\": {\"Source\": \"%s\", \"Destination\": \"/\"}}", src);
  CHECK_OK(vmshare_share_rootfs(s, c, &result, &error), error);
  CHECK(result &&
        strstr(result, "\"guest_path\":\"/run/kata-containers/shared/containers/c1/rfs\""));
  char *host = json_string(result, "HostPath");
  char *want = fmt("%s/s1/mounts/c1/rfs", base);
  CHECK(host && strcmp(host, want) == 0);
  vmshare_free(result);
  CHECK_OK(vmshare_cleanup(s, &error), error);
  CHECK(!mounted_under(tmp));
  char *tree = fmt("%s/s1", base);
  CHECK(!exists(tree));
  vmshare_sharer_close(s);
  char *cmd = fmt("rm -rf '%s'", tmp);
  if (system(cmd) != 0) abort();
  free(cmd), free(tree), free(want), free(host), free(c), free(mounts), free(config), free(hello),
      free(base);
  free(src), free(tmp);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: capi_test EXPECTED_VERSION\n");
    return 2;
  }
  test_version_and_free(argv[1]);
  test_null_arguments();
  test_bad_config();
  test_store_round_trip();
  if (geteuid() == 0) {
    test_share_lifecycle();
    test_bad_input_changes_nothing();
    test_kata_layout();
  } else {
    printf("SKIP sharer tests: they mount and need root\n");
  }
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("capi_test: all checks passed\n");
  return 0;
}
