/*
 * share_dir: shares one host directory with a sandbox's guest through
 * libvmshare, prints what the guest agent needs, then takes it all down.
 *
 *   share_dir ROOT SANDBOX_ID SOURCE_DIR
 *
 * ROOT is vmshare's root (e.g. /run/vmshare). Needs root (it mounts).
 * Build it with pkg-config:
 *   cc share_dir.c $(pkg-config --cflags --libs vmshare) -o share_dir
 * or with CMake: find_package(vmshare) and link vmshare::vmshare
 * (examples/CMakeLists.txt).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vmshare/vmshare.h>

/* Prints the failed step's message, frees it, and returns 1. */
static int fail(const char *step, int rc, char *error) {
  fprintf(stderr, "share_dir: %s failed (%d): %s\n", step, rc, error ? error : "(no message)");
  vmshare_free(error);
  return 1;
}

/* JSON string escaping is not needed for the paths this example takes, but
 * refusing a quote or backslash keeps the documents well-formed. */
static int plain(const char *s) { return strpbrk(s, "\"\\") == NULL; }

int main(int argc, char **argv) {
  if (argc != 4 || !plain(argv[1]) || !plain(argv[2]) || !plain(argv[3])) {
    fprintf(stderr, "usage: share_dir ROOT SANDBOX_ID SOURCE_DIR\n");
    return 2;
  }
  char config[4096], mount[4096];
  snprintf(config, sizeof config, "{\"root\": \"%s\", \"sandbox_id\": \"%s\"}", argv[1], argv[2]);
  snprintf(mount, sizeof mount,
           "{\"Source\": \"%s\", \"Destination\": \"/data\", \"ReadOnly\": true}", argv[3]);
  const char *container = "{\"ID\": \"example\"}";

  printf("libvmshare %s\n", vmshare_version());
  char *error = NULL;
  vmshare_sharer *s = NULL;
  int rc = vmshare_sharer_open(config, &s, &error);
  if (rc != 0) return fail("open", rc, error);
  rc = vmshare_prepare(s, &error);
  if (rc != 0) {
    vmshare_sharer_close(s);
    return fail("prepare", rc, error);
  }

  char *result = NULL;
  rc = vmshare_share_file(s, container, mount, &result, &error);
  if (rc == 0) {
    printf("shared: %s\n", result);
    vmshare_free(result);
  } else {
    fail("share", rc, error);
  }

  /* Cleanup also takes down shares that were never unshared. */
  int rc2 = vmshare_cleanup(s, &error);
  vmshare_sharer_close(s);
  if (rc2 != 0) return fail("cleanup", rc2, error);
  printf("cleaned up\n");
  return rc == 0 ? 0 : 1;
}
