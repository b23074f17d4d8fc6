#include "report/report_file.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace loadtest::report {
namespace {

std::string KindOf(mode_t mode) {
  if (S_ISREG(mode)) return "";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// The folder of `path` ("." when it names none) and its last component.
std::pair<std::string, std::string> SplitPath(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

std::string RandomSuffix() {
  std::random_device random;
  return absl::StrFormat("%08x%04x", random(), random() & 0xffffu);
}

// Creates a new file in `folder` named after `name`, never opening anything
// that was already there. The file's path in `*created`; -1 and errno set on
// failure.
int CreateNewFile(const std::string& folder, const std::string& name,
                  std::string* created) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    *created = absl::StrCat(folder, folder == "/" ? "" : "/", ".", name, ".",
                            RandomSuffix(), ".tmp");
    const int fd = ::open(created->c_str(),
                          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                          0666);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  errno = EEXIST;
  return -1;
}

absl::Status NotRegular(const std::string& flag, const std::string& path,
                        const std::string& kind) {
  return absl::InvalidArgumentError(absl::StrCat(
      flag.empty() ? "" : absl::StrCat(flag, "=", path, ": "), path, " is ",
      kind, ", not a regular file; reports are written only to a new file "
      "or over a regular one: name another path"));
}

// Where a path leads: its folder resolved, and the file's identity when it
// exists. Two paths name the same file when either matches.
struct FileIdentity {
  std::string resolved;  // Canonical folder + "/" + name; "" if unresolved.
  int resolve_error = 0;  // Why the folder could not be resolved.
  bool exists = false;
  dev_t device = 0;
  ino_t inode = 0;
  bool SameFile(const FileIdentity& other) const {
    return (!resolved.empty() && resolved == other.resolved) ||
           (exists && other.exists && device == other.device &&
            inode == other.inode);
  }
};

FileIdentity IdentityOf(const std::string& path) {
  FileIdentity id;
  const auto [folder, name] = SplitPath(path);
  char resolved_folder[PATH_MAX];
  if (::realpath(folder.c_str(), resolved_folder) != nullptr) {
    id.resolved = absl::StrCat(resolved_folder, "/", name);
  } else {
    id.resolve_error = errno;
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    id.exists = true;
    id.device = st.st_dev;
    id.inode = st.st_ino;
  }
  return id;
}

}  // namespace

std::string NonRegularKind(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return "";
  return KindOf(st.st_mode);
}

absl::Status CheckOutputFiles(const std::vector<OutputFile>& files,
                              const std::vector<OutputFile>& kept) {
  std::vector<std::pair<const OutputFile*, FileIdentity>> seen;
  for (const OutputFile& f : files) {
    if (f.path.empty()) continue;
    const std::string shown = absl::StrCat(f.flag, "=", f.path);
    if (const std::string kind = NonRegularKind(f.path); !kind.empty()) {
      return NotRegular(f.flag, f.path, kind);
    }
    const auto [folder, name] = SplitPath(f.path);
    if (name.empty() || name == "." || name == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat(shown, ": names a folder, not a file"));
    }
    const FileIdentity id = IdentityOf(f.path);
    if (id.resolved.empty()) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot write ", f.path, " (", shown, "): its folder ",
                       folder, ": ", std::strerror(id.resolve_error)));
    }
    for (const auto& [other, other_id] : seen) {
      if (id.SameFile(other_id)) {
        return absl::InvalidArgumentError(absl::StrCat(
            other->flag, "=", other->path, " and ", shown,
            " name the same file: give each output a file of its own"));
      }
    }
    for (const OutputFile& k : kept) {
      if (!k.path.empty() && id.SameFile(IdentityOf(k.path))) {
        return absl::InvalidArgumentError(absl::StrCat(
            shown, " is ", k.flag, " (", k.path,
            "): a report would replace it; name another file"));
      }
    }
    seen.emplace_back(&f, id);

    // The folder must take a new file (the temporary file the report is
    // written to).
    std::string probe;
    const int fd = CreateNewFile(folder, name, &probe);
    if (fd < 0) {
      return absl::PermissionDeniedError(absl::StrCat(
          "cannot write ", f.path, " (", shown, "): cannot create a file in ",
          folder, ": ", std::strerror(errno)));
    }
    ::close(fd);
    ::unlink(probe.c_str());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<AtomicFile>> AtomicFile::Create(
    const std::string& path) {
  if (const std::string kind = NonRegularKind(path); !kind.empty()) {
    return NotRegular("", path, kind);
  }
  const auto [folder, name] = SplitPath(path);
  std::string temporary;
  const int fd = CreateNewFile(folder, name, &temporary);
  if (fd < 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        "cannot write ", path, ": cannot create a file in ", folder, ": ",
        std::strerror(errno)));
  }
  std::FILE* file = ::fdopen(fd, "w");
  if (file == nullptr) {
    const int error = errno;
    ::close(fd);
    ::unlink(temporary.c_str());
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot write ", path, ": ", std::strerror(error)));
  }
  return std::unique_ptr<AtomicFile>(
      new AtomicFile(path, std::move(temporary), file));
}

AtomicFile::AtomicFile(std::string path, std::string temporary,
                       std::FILE* file)
    : path_(std::move(path)), temporary_(std::move(temporary)), file_(file) {}

AtomicFile::~AtomicFile() { Discard(); }

void AtomicFile::Discard() {
  if (file_ == nullptr) return;
  std::fclose(file_);
  file_ = nullptr;
  ::unlink(temporary_.c_str());
}

absl::Status AtomicFile::Commit() {
  if (file_ == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write ", path_, ": already committed or failed"));
  }
  bool written = std::ferror(file_) == 0 && std::fflush(file_) == 0;
  int error = written ? 0 : errno;
  if (std::fclose(file_) != 0 && written) {
    written = false;
    error = errno;
  }
  file_ = nullptr;
  if (!written) {
    ::unlink(temporary_.c_str());
    return absl::ResourceExhaustedError(absl::StrCat(
        "cannot write ", path_, ": ",
        std::strerror(error != 0 ? error : EIO)));
  }
  // The target may have changed while the file was written.
  if (const std::string kind = NonRegularKind(path_); !kind.empty()) {
    ::unlink(temporary_.c_str());
    return NotRegular("", path_, kind);
  }
  if (::rename(temporary_.c_str(), path_.c_str()) != 0) {
    const int rename_errno = errno;
    ::unlink(temporary_.c_str());
    return absl::PermissionDeniedError(
        absl::StrCat("cannot rename ", temporary_, " to ", path_, ": ",
                     std::strerror(rename_errno)));
  }
  return absl::OkStatus();
}

absl::Status WriteFileAtomically(
    const std::string& path,
    const std::function<absl::Status(std::FILE*)>& write) {
  absl::StatusOr<std::unique_ptr<AtomicFile>> file = AtomicFile::Create(path);
  if (!file.ok()) return file.status();
  if (absl::Status wrote = write((*file)->file()); !wrote.ok()) return wrote;
  return (*file)->Commit();
}

absl::Status WriteTextFile(const std::string& path, const std::string& text) {
  return WriteFileAtomically(path, [&text](std::FILE* out) {
    std::fwrite(text.data(), 1, text.size(), out);
    return absl::OkStatus();
  });
}

void FileCloser::operator()(std::FILE* file) const {
  if (file != nullptr) std::fclose(file);
}

std::string SpoolDirectory() {
  const char* tmpdir = std::getenv("TMPDIR");
  return tmpdir != nullptr && tmpdir[0] != '\0' ? std::string(tmpdir) : "/tmp";
}

absl::StatusOr<SpoolFile> CreateSpoolFile(const std::string& what,
                                          int64_t reserve_bytes) {
  const std::string folder = SpoolDirectory();
  auto failed = [&](int error) {
    const std::string message = absl::StrCat(
        "cannot create the temporary file for ", what, " in ", folder, ": ",
        std::strerror(error), " (set TMPDIR to a writable folder with room)");
    return error == ENOSPC || error == EDQUOT
               ? absl::ResourceExhaustedError(message)
               : absl::PermissionDeniedError(message);
  };
  std::string name = absl::StrCat(folder, "/opentrail-load-spool-XXXXXX");
  const int fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) return failed(errno);
  ::unlink(name.c_str());  // Gone with the process, whatever happens.
  if (reserve_bytes > 0) {
    const int reserved = ::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, reserve_bytes);
    if (reserved != 0 && errno != EOPNOTSUPP && errno != ENOSYS) {
      const int error = errno;
      ::close(fd);
      return failed(error);
    }
  }
  std::FILE* file = ::fdopen(fd, "w+");
  if (file == nullptr) {
    const int error = errno;
    ::close(fd);
    return failed(error);
  }
  return SpoolFile(file);
}

}  // namespace loadtest::report
