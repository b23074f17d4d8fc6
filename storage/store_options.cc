#include "storage/store_options.h"

#include <chrono>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace loadtest::storage {
namespace {

std::string Millis(std::chrono::nanoseconds d) {
  return absl::StrCat(std::chrono::duration<double, std::milli>(d).count(),
                      "ms");
}

}  // namespace

absl::Status ValidateStoreOptions(const StoreOptions& o) {
  if (o.path.empty()) {
    return absl::InvalidArgumentError("database path must not be empty");
  }
  if (o.batch_size < 1 || o.batch_size > 100000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "batch-size must be between 1 and 100000, got ", o.batch_size));
  }
  if (o.queue_size < 1 || o.queue_size > 10000000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "queue-size must be between 1 and 10000000, got ", o.queue_size));
  }
  if (o.batch_size > o.queue_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch-size ", o.batch_size,
                     " is larger than queue-size ", o.queue_size));
  }
  if (o.batch_timeout <= std::chrono::nanoseconds::zero() ||
      o.batch_timeout > std::chrono::minutes(1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch-timeout must be > 0 and at most 1m, got ",
                     Millis(o.batch_timeout)));
  }
  if (o.write_timeout <= std::chrono::nanoseconds::zero()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "write-timeout must be > 0, got ", Millis(o.write_timeout)));
  }
  if (o.busy_timeout < std::chrono::milliseconds::zero()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "busy-timeout must be >= 0, got ", o.busy_timeout.count(), "ms"));
  }
  if (o.checkpoint_pages < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "checkpoint-pages must be >= 1, got ", o.checkpoint_pages));
  }
  if (o.restart_pages < o.checkpoint_pages) {
    return absl::InvalidArgumentError(
        absl::StrCat("restart-pages must be >= checkpoint-pages (",
                     o.checkpoint_pages, "), got ", o.restart_pages));
  }
  if (o.cache_size_kib < 1024 || o.cache_size_kib > 4194304) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cache-size-kib must be between 1024 and 4194304, got ",
        o.cache_size_kib));
  }
  if (o.reader_mmap_mib < 0 || o.reader_mmap_mib > 65536) {
    return absl::InvalidArgumentError(absl::StrCat(
        "reader-mmap-mib must be between 0 and 65536, got ",
        o.reader_mmap_mib));
  }
  if (o.reader_nice < 0 || o.reader_nice > 19) {
    return absl::InvalidArgumentError(absl::StrCat(
        "reader-nice must be between 0 and 19, got ", o.reader_nice));
  }
  for (const auto& [flag, value, low, high] :
       {std::tuple<const char*, int, int, int>{"fts-automerge",
                                               o.fts_automerge, 0, 64},
        {"fts-crisismerge", o.fts_crisismerge, 2, 1999},
        {"fts-pgsz", o.fts_pgsz, 32, 65536}}) {
    if (value != kFtsDefault && (value < low || value > high)) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, " must be between ", low, " and ", high,
                       " (or -1: SQLite's default), got ", value));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Schema> ParseSchema(const std::string& text) {
  if (text == "full") return Schema::kFull;
  if (text == "lean") return Schema::kLean;
  return absl::InvalidArgumentError(
      absl::StrCat("schema must be full or lean, got \"", text, "\""));
}

absl::StatusOr<SyncMode> ParseSyncMode(const std::string& text) {
  if (text == "off") return SyncMode::kOff;
  if (text == "normal") return SyncMode::kNormal;
  if (text == "full") return SyncMode::kFull;
  return absl::InvalidArgumentError(
      absl::StrCat("sync must be off, normal or full, got \"", text, "\""));
}

absl::StatusOr<BatchPolicy> ParseBatchPolicy(const std::string& text) {
  if (text == "group") return BatchPolicy::kGroupCommit;
  if (text == "linger") return BatchPolicy::kLinger;
  return absl::InvalidArgumentError(absl::StrCat(
      "batch-policy must be group or linger, got \"", text, "\""));
}

absl::StatusOr<TempStore> ParseTempStore(const std::string& text) {
  if (text == "memory") return TempStore::kMemory;
  if (text == "file") return TempStore::kFile;
  return absl::InvalidArgumentError(absl::StrCat(
      "temp-store must be memory or file, got \"", text, "\""));
}

absl::StatusOr<FtsSync> ParseFtsSync(const std::string& text) {
  if (text == "trigger") return FtsSync::kTrigger;
  if (text == "batch") return FtsSync::kBatch;
  return absl::InvalidArgumentError(absl::StrCat(
      "fts-sync must be trigger or batch, got \"", text, "\""));
}

const char* SchemaName(Schema schema) {
  return schema == Schema::kFull ? "full" : "lean";
}

const char* SyncModeName(SyncMode sync) {
  switch (sync) {
    case SyncMode::kOff:
      return "off";
    case SyncMode::kNormal:
      return "normal";
    case SyncMode::kFull:
      return "full";
  }
  return "normal";
}

const char* BatchPolicyName(BatchPolicy policy) {
  return policy == BatchPolicy::kGroupCommit ? "group" : "linger";
}

const char* TempStoreName(TempStore temp_store) {
  return temp_store == TempStore::kMemory ? "memory" : "file";
}

const char* FtsSyncName(FtsSync fts_sync) {
  return fts_sync == FtsSync::kTrigger ? "trigger" : "batch";
}

std::string FtsSettingsText(const StoreOptions& o) {
  std::vector<std::string> parts;
  if (o.fts_sync != FtsSync::kTrigger) {
    parts.push_back(absl::StrCat("fts ", FtsSyncName(o.fts_sync)));
  }
  for (const auto& [name, value] :
       {std::pair<const char*, int>{"automerge", o.fts_automerge},
        {"crisismerge", o.fts_crisismerge},
        {"pgsz", o.fts_pgsz}}) {
    if (value != kFtsDefault) parts.push_back(absl::StrCat(name, " ", value));
  }
  return absl::StrJoin(parts, ", ");
}

}  // namespace loadtest::storage
