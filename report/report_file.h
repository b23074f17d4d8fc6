// How a run's output files are written: checked before the run starts and
// written whole or not at all, never through anything but a new file of
// our own in the target's folder. Every report (--out, --out-intervals,
// --csv, --html, --prometheus-targets, find-max's) goes through here.
//
// The rules, for a controller that often runs as root:
//   - An output path that exists must be a regular file. A device
//     (/dev/null), a directory, a FIFO, a socket or a symbolic link (even to
//     a regular file: its target is someone else's) is refused before the
//     run, and again just before the rename.
//   - Two outputs of one run may not name the same file.
//   - Content goes to a temporary file created in the target's folder with
//     O_CREAT|O_EXCL|O_NOFOLLOW under a random name, so nothing planted
//     there beforehand (a symbolic link, another user's file) is ever
//     opened; it is renamed over the target once complete.
//
// Thread-safety: the functions are safe from any thread; an AtomicFile is
// used by one thread at a time.
#ifndef LOADTEST_REPORT_REPORT_FILE_H_
#define LOADTEST_REPORT_REPORT_FILE_H_

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace loadtest::report {

// One file a run will write, and the flag that named it (for messages).
struct OutputFile {
  std::string flag;  // "--out", "--csv", ...
  std::string path;  // Empty: not written (skipped by the checks).
};

// Checks, before a run, every file it will write (empty paths skipped):
//   - InvalidArgument naming the flag and the path when the path exists and
//     is not a regular file ("--out=/dev/null: /dev/null is a character
//     device, not a regular file; name a new file or a regular one"), or when
//     two outputs name the same file (after resolving their folders, or the
//     same existing file under two names);
//   - PermissionDenied when its folder is missing or a new file cannot be
//     created there (a probe file is created with O_EXCL and removed);
//   - InvalidArgument when an output names one of `kept`: files the run
//     owns that no report may replace (an in-process run's database and its
//     side files).
absl::Status CheckOutputFiles(const std::vector<OutputFile>& files,
                              const std::vector<OutputFile>& kept = {});

// What kind of file `path` is, without following a symbolic link: "" when
// it does not exist or is a regular file, else "a directory", "a symbolic
// link", "a character device", ... .
std::string NonRegularKind(const std::string& path);

// A file written whole or not at all: Create opens a new temporary file in
// `path`'s folder; Commit flushes it and renames it over `path`. Destroyed
// without a successful Commit, the temporary file is removed and `path` is
// left as it was.
class AtomicFile {
 public:
  // PermissionDenied naming `path` when the temporary file cannot be
  // created (missing folder, no permission); InvalidArgument when `path`
  // exists and is not a regular file.
  static absl::StatusOr<std::unique_ptr<AtomicFile>> Create(
      const std::string& path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // The open temporary file; owned by this object, valid until Commit.
  std::FILE* file() const { return file_; }
  const std::string& path() const { return path_; }
  const std::string& temporary_path() const { return temporary_; }

  // Flushes and closes the file and renames it over `path`, which must then
  // be missing or a regular file (InvalidArgument otherwise; the
  // temporary file is removed). ResourceExhausted naming `path` when a write
  // or the flush failed (a full disk): the temporary file is removed and
  // `path` keeps its old content. One call only.
  absl::Status Commit();

 private:
  AtomicFile(std::string path, std::string temporary, std::FILE* file);
  // Closes and removes the temporary file, if still open.
  void Discard();

  const std::string path_;
  const std::string temporary_;
  std::FILE* file_;
};

// Writes `path` through an AtomicFile: `write` writes the content to the open
// file; its error, or a failed write, leaves `path` as it was and no
// temporary file behind, and is returned. Errors name the path.
absl::Status WriteFileAtomically(
    const std::string& path,
    const std::function<absl::Status(std::FILE*)>& write);

// WriteFileAtomically of `text`.
absl::Status WriteTextFile(const std::string& path, const std::string& text);

// An unlinked temporary file for data a run keeps on disk rather than in
// memory, opened for reading and writing. Created in $TMPDIR (else /tmp),
// and with `reserve_bytes` > 0 that much space is reserved at once
// (fallocate, where the file system supports it), so that a full disk is
// known now rather than after the run. ResourceExhausted or PermissionDenied
// naming the folder and saying to set TMPDIR.
struct FileCloser {
  void operator()(std::FILE* file) const;
};
using SpoolFile = std::unique_ptr<std::FILE, FileCloser>;
absl::StatusOr<SpoolFile> CreateSpoolFile(const std::string& what,
                                          int64_t reserve_bytes);

// The folder CreateSpoolFile uses: $TMPDIR when set and not empty, else
// "/tmp".
std::string SpoolDirectory();

}  // namespace loadtest::report

#endif  // LOADTEST_REPORT_REPORT_FILE_H_
