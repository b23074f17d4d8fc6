#include "storage/internal/sync_counting_vfs.h"

#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "storage/internal/sqlite_util.h"

namespace loadtest::storage::internal {
namespace {

constexpr char kVfsName[] = "opentrail-sync-counting";

// The default VFS, which every call is forwarded to.
sqlite3_vfs* Root(sqlite3_vfs* vfs) {
  return static_cast<sqlite3_vfs*>(vfs->pAppData);
}

// The counters by full database path. Entries are never removed, so a
// pointer handed out stays valid for the process.
struct Registry {
  std::mutex mu;
  std::map<std::string, std::unique_ptr<SyncCounts>> by_path;
};

Registry& TheRegistry() {
  static auto* registry = new Registry();
  return *registry;
}

SyncCounts* CountsOfFullPath(const std::string& full_path) {
  Registry& registry = TheRegistry();
  std::lock_guard<std::mutex> lock(registry.mu);
  std::unique_ptr<SyncCounts>& counts = registry.by_path[full_path];
  if (counts == nullptr) counts = std::make_unique<SyncCounts>();
  return counts.get();
}

// A file opened through the VFS: its counters, then the default VFS's own
// file object, which follows it in the same allocation (szOsFile).
struct CountingFile {
  sqlite3_file base;
  SyncCounts* counts;  // Null for files of no database (temporary files).
  sqlite3_file* real;
};

sqlite3_file* Real(sqlite3_file* file) {
  return reinterpret_cast<CountingFile*>(file)->real;
}

// The fault a test injects with OPENTRAIL_FAULT_SYNC_DELAY_MS: every sync
// counted here takes that much longer, as on a disk that syncs slowly. Read
// once; said on stderr, so no run is measured with it by mistake.
std::chrono::milliseconds InjectedSyncDelay() {
  const char* text = std::getenv(kSyncDelayVariable);
  if (text == nullptr || *text == '\0') return std::chrono::milliseconds(0);
  char* end = nullptr;
  const long ms = std::strtol(text, &end, 10);
  if (*end != '\0' || ms <= 0 || ms > 60'000) {
    std::fprintf(stderr, "loadtest: ignoring %s=%s (want 1..60000 ms)\n",
                 kSyncDelayVariable, text);
    return std::chrono::milliseconds(0);
  }
  std::fprintf(stderr,
               "loadtest: FAULT INJECTED: every sync of the store's files is "
               "delayed by %ld ms (%s)\n",
               ms, kSyncDelayVariable);
  return std::chrono::milliseconds(ms);
}

int Close(sqlite3_file* f) { return Real(f)->pMethods->xClose(Real(f)); }
int Read(sqlite3_file* f, void* data, int n, sqlite3_int64 offset) {
  return Real(f)->pMethods->xRead(Real(f), data, n, offset);
}
int Write(sqlite3_file* f, const void* data, int n, sqlite3_int64 offset) {
  return Real(f)->pMethods->xWrite(Real(f), data, n, offset);
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  return Real(f)->pMethods->xTruncate(Real(f), size);
}
int Sync(sqlite3_file* f, int flags) {
  SyncCounts* counts = reinterpret_cast<CountingFile*>(f)->counts;
  if (counts == nullptr) return Real(f)->pMethods->xSync(Real(f), flags);
  const auto start = std::chrono::steady_clock::now();
  static const std::chrono::milliseconds delay = InjectedSyncDelay();
  if (delay.count() > 0) std::this_thread::sleep_for(delay);  // A slow disk.
  const int rc = Real(f)->pMethods->xSync(Real(f), flags);
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  counts->syncs.fetch_add(1, std::memory_order_relaxed);
  counts->sync_ns.fetch_add(ns, std::memory_order_relaxed);
  return rc;
}
int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  return Real(f)->pMethods->xFileSize(Real(f), size);
}
int Lock(sqlite3_file* f, int level) {
  return Real(f)->pMethods->xLock(Real(f), level);
}
int Unlock(sqlite3_file* f, int level) {
  return Real(f)->pMethods->xUnlock(Real(f), level);
}
int CheckReservedLock(sqlite3_file* f, int* out) {
  return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
}
int FileControl(sqlite3_file* f, int op, void* arg) {
  return Real(f)->pMethods->xFileControl(Real(f), op, arg);
}
int SectorSize(sqlite3_file* f) {
  return Real(f)->pMethods->xSectorSize(Real(f));
}
int DeviceCharacteristics(sqlite3_file* f) {
  return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
}
// Shared memory (WAL) and memory mapping: the default VFS's file has them
// from version 2 and 3 of its methods.
int ShmMap(sqlite3_file* f, int page, int size, int extend,
           void volatile** out) {
  const sqlite3_io_methods* m = Real(f)->pMethods;
  if (m->iVersion < 2) return SQLITE_IOERR;
  return m->xShmMap(Real(f), page, size, extend, out);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  const sqlite3_io_methods* m = Real(f)->pMethods;
  if (m->iVersion < 2) return SQLITE_IOERR;
  return m->xShmLock(Real(f), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) {
  const sqlite3_io_methods* m = Real(f)->pMethods;
  if (m->iVersion >= 2) m->xShmBarrier(Real(f));
}
int ShmUnmap(sqlite3_file* f, int delete_flag) {
  const sqlite3_io_methods* m = Real(f)->pMethods;
  if (m->iVersion < 2) return SQLITE_OK;
  return m->xShmUnmap(Real(f), delete_flag);
}
int Fetch(sqlite3_file* f, sqlite3_int64 offset, int n, void** out) {
  const sqlite3_io_methods* m = Real(f)->pMethods;
  if (m->iVersion < 3) {
    *out = nullptr;  // No mapping: SQLite reads instead.
    return SQLITE_OK;
  }
  return m->xFetch(Real(f), offset, n, out);
}
int Unfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) {
  const sqlite3_io_methods* m = Real(f)->pMethods;
  if (m->iVersion < 3) return SQLITE_OK;
  return m->xUnfetch(Real(f), offset, p);
}

const sqlite3_io_methods kMethods = {
    3,         Close,    Read,      Write,      Truncate,
    Sync,      FileSize, Lock,      Unlock,     CheckReservedLock,
    FileControl, SectorSize, DeviceCharacteristics, ShmMap, ShmLock,
    ShmBarrier, ShmUnmap, Fetch,    Unfetch};

int Open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* file,
         int flags, int* out_flags) {
  CountingFile* counting = reinterpret_cast<CountingFile*>(file);
  counting->base.pMethods = nullptr;
  counting->counts = nullptr;
  counting->real = reinterpret_cast<sqlite3_file*>(counting + 1);
  const int rc = Root(vfs)->xOpen(Root(vfs), name, counting->real, flags,
                                  out_flags);
  // SQLite calls xClose exactly when pMethods is set, failed open or not.
  if (counting->real->pMethods == nullptr) return rc;
  counting->base.pMethods = &kMethods;
  constexpr int kDatabaseFiles =
      SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_JOURNAL;
  if (rc == SQLITE_OK && name != nullptr && (flags & kDatabaseFiles) != 0) {
    counting->counts = CountsOfFullPath(sqlite3_filename_database(name));
  }
  return rc;
}

int Delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  return Root(vfs)->xDelete(Root(vfs), name, sync_dir);
}
int Access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return Root(vfs)->xAccess(Root(vfs), name, flags, out);
}
int FullPathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  return Root(vfs)->xFullPathname(Root(vfs), name, n, out);
}
void* DlOpen(sqlite3_vfs* vfs, const char* name) {
  return Root(vfs)->xDlOpen(Root(vfs), name);
}
void DlError(sqlite3_vfs* vfs, int n, char* out) {
  Root(vfs)->xDlError(Root(vfs), n, out);
}
void (*DlSym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
  return Root(vfs)->xDlSym(Root(vfs), handle, symbol);
}
void DlClose(sqlite3_vfs* vfs, void* handle) {
  Root(vfs)->xDlClose(Root(vfs), handle);
}
int Randomness(sqlite3_vfs* vfs, int n, char* out) {
  return Root(vfs)->xRandomness(Root(vfs), n, out);
}
int Sleep(sqlite3_vfs* vfs, int us) { return Root(vfs)->xSleep(Root(vfs), us); }
int CurrentTime(sqlite3_vfs* vfs, double* out) {
  return Root(vfs)->xCurrentTime(Root(vfs), out);
}
int GetLastError(sqlite3_vfs* vfs, int n, char* out) {
  return Root(vfs)->xGetLastError(Root(vfs), n, out);
}
int CurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return Root(vfs)->xCurrentTimeInt64(Root(vfs), out);
}
int SetSystemCall(sqlite3_vfs* vfs, const char* name,
                  sqlite3_syscall_ptr call) {
  return Root(vfs)->xSetSystemCall(Root(vfs), name, call);
}
sqlite3_syscall_ptr GetSystemCall(sqlite3_vfs* vfs, const char* name) {
  return Root(vfs)->xGetSystemCall(Root(vfs), name);
}
const char* NextSystemCall(sqlite3_vfs* vfs, const char* name) {
  return Root(vfs)->xNextSystemCall(Root(vfs), name);
}

// The VFS over `root`, offering no newer interface than root does.
sqlite3_vfs* MakeVfs(sqlite3_vfs* root) {
  auto* vfs = new sqlite3_vfs{};  // Registered for the process's life.
  vfs->iVersion = root->iVersion < 3 ? root->iVersion : 3;
  vfs->szOsFile = static_cast<int>(sizeof(CountingFile)) + root->szOsFile;
  vfs->mxPathname = root->mxPathname;
  vfs->zName = kVfsName;
  vfs->pAppData = root;
  vfs->xOpen = Open;
  vfs->xDelete = Delete;
  vfs->xAccess = Access;
  vfs->xFullPathname = FullPathname;
  vfs->xDlOpen = root->xDlOpen != nullptr ? DlOpen : nullptr;
  vfs->xDlError = root->xDlError != nullptr ? DlError : nullptr;
  vfs->xDlSym = root->xDlSym != nullptr ? DlSym : nullptr;
  vfs->xDlClose = root->xDlClose != nullptr ? DlClose : nullptr;
  vfs->xRandomness = Randomness;
  vfs->xSleep = Sleep;
  vfs->xCurrentTime = CurrentTime;
  vfs->xGetLastError = GetLastError;
  if (vfs->iVersion >= 2) {
    vfs->xCurrentTimeInt64 =
        root->xCurrentTimeInt64 != nullptr ? CurrentTimeInt64 : nullptr;
  }
  if (vfs->iVersion >= 3) {
    vfs->xSetSystemCall =
        root->xSetSystemCall != nullptr ? SetSystemCall : nullptr;
    vfs->xGetSystemCall =
        root->xGetSystemCall != nullptr ? GetSystemCall : nullptr;
    vfs->xNextSystemCall =
        root->xNextSystemCall != nullptr ? NextSystemCall : nullptr;
  }
  return vfs;
}

}  // namespace

const char* SyncCountingVfs() {
  static const char* const name = []() -> const char* {
    InitializeSqliteOnce();  // Before anything initializes SQLite.
    sqlite3_vfs* root = sqlite3_vfs_find(nullptr);
    if (root == nullptr) return nullptr;
    return sqlite3_vfs_register(MakeVfs(root), 0) == SQLITE_OK ? kVfsName
                                                                : nullptr;
  }();
  return name;
}

SyncCounts* SyncCountsOf(const std::string& path) {
  InitializeSqliteOnce();
  sqlite3_vfs* root = sqlite3_vfs_find(nullptr);
  if (root != nullptr && root->mxPathname > 0) {
    std::vector<char> full(static_cast<size_t>(root->mxPathname) + 1);
    if (root->xFullPathname(root, path.c_str(), root->mxPathname,
                            full.data()) == SQLITE_OK) {
      return CountsOfFullPath(full.data());
    }
  }
  return CountsOfFullPath(path);
}

}  // namespace loadtest::storage::internal
