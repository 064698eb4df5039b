// guest-watch: the guest side of the watch end-to-end test (statically
// linked, copied into the test bundle's rootfs). Not product code.
//
//   guest-watch DIR STOPKEY   watches DIR with inotify; prints
//       "MOVE <n>" for every IN_MOVED_TO ..data,
//       "SNAP <snapshot>" whenever the snapshot changes,
//       "MIX <details>" when one read through a resolved ..data finds files
//       of two versions (contents start with "v<N>:"),
//     and exits 0 with "END moves=<n> mixes=<m>" once DIR/STOPKEY exists.
//   guest-watch --snapshot DIR   prints the snapshot once (the host's view).
//
// Snapshot: data=<..data target>|keys=<top-level entries>|files=<path>:<mode>:<content>;...
// over the files below ..data, sorted.
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace fs = std::filesystem;

static bool ReadFile(const std::string& p, std::string* out) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

// Files below dir (recursively, not following links), as "rel:mode:content".
static bool Files(const std::string& dir, std::set<std::string>* out,
                  std::set<std::string>* versions) {
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, ec), end;
  if (ec) return false;
  for (; it != end; it.increment(ec)) {
    if (ec) return false;
    struct stat st;
    if (::lstat(it->path().c_str(), &st) != 0) return false;
    if (!S_ISREG(st.st_mode)) continue;
    std::string content;
    if (!ReadFile(it->path(), &content)) return false;
    char mode[16];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    // Lexical: fs::relative resolves both paths on disk and throws once the
    // old payload is removed under it (right after a switch).
    out->insert(it->path().lexically_relative(dir).string() + ":" + mode + ":" +
                std::to_string(st.st_gid) + ":" + content);
    versions->insert(content.substr(0, content.find(':')));
  }
  return true;
}

static bool Snapshot(const std::string& dir, std::string* snap, std::string* mix) {
  char target[4096];
  const ssize_t n = ::readlink((dir + "/..data").c_str(), target, sizeof target - 1);
  if (n <= 0) return false;
  target[n] = 0;
  std::set<std::string> files, versions;
  if (!Files(dir + "/" + target, &files, &versions)) return false;
  std::set<std::string> keys;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename();
    if (name.rfind("..", 0) != 0) keys.insert(name);
  }
  std::string s = std::string("data=") + target + "|keys=";
  for (const auto& k : keys) s += k + ",";
  s += "|files=";
  for (const auto& f : files) s += f + ";";
  *snap = s;
  mix->clear();
  if (versions.size() > 1) {
    for (const auto& v : versions) *mix += v + " ";
  }
  return true;
}

int main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  if (argc == 3 && std::strcmp(argv[1], "--snapshot") == 0) {
    std::string snap, mix;
    if (!Snapshot(argv[2], &snap, &mix)) return 1;
    std::printf("%s\n", snap.c_str());
    return 0;
  }
  if (argc != 3) return 2;
  const std::string dir = argv[1];
  const std::string stop = dir + "/" + argv[2];
  const int fd = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (fd < 0 || ::inotify_add_watch(fd, dir.c_str(), IN_MOVED_TO) < 0) {
    std::perror("inotify");
    return 1;
  }
  int moves = 0, mixes = 0;
  std::string last;
  auto drain = [&] {
    alignas(inotify_event) char buf[8192];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      for (ssize_t off = 0; off < n;) {
        auto* ev = reinterpret_cast<inotify_event*>(buf + off);
        if (ev->len > 0 && std::strcmp(ev->name, "..data") == 0) std::printf("MOVE %d\n", ++moves);
        off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      }
    }
  };
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, 20);
    drain();
    std::string snap, mix;
    if (Snapshot(dir, &snap, &mix)) {
      if (!mix.empty()) {
        ++mixes;
        std::printf("MIX %s\n", mix.c_str());
      }
      if (snap != last) std::printf("SNAP %s\n", snap.c_str());
      last = snap;
    }
    if (::access(stop.c_str(), F_OK) == 0) break;
  }
  drain();  // the move that made the stop key visible may be unread yet
  std::printf("END moves=%d mixes=%d\n", moves, mixes);
  return 0;
}
