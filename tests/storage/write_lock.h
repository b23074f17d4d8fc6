// ExternalWriteLock for the store's and the workload's tests: another
// connection holding SQLite's write lock on a database (BEGIN IMMEDIATE,
// after the store's own transaction if one runs) until Release(), so that
// the store's writer stalls in its next BEGIN.
#ifndef LOADTEST_TESTS_STORAGE_WRITE_LOCK_H_
#define LOADTEST_TESTS_STORAGE_WRITE_LOCK_H_

#include <sqlite3.h>

#include <string>

#include "gtest/gtest.h"

namespace loadtest::storage {

class ExternalWriteLock {
 public:
  explicit ExternalWriteLock(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
    sqlite3_busy_timeout(db_, 60'000);
    EXPECT_EQ(sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr),
              SQLITE_OK);
  }
  ExternalWriteLock(const ExternalWriteLock&) = delete;
  ExternalWriteLock& operator=(const ExternalWriteLock&) = delete;
  ~ExternalWriteLock() { Release(); }

  void Release() {
    if (db_ == nullptr) return;
    EXPECT_EQ(sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db_);
    db_ = nullptr;
  }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace loadtest::storage

#endif  // LOADTEST_TESTS_STORAGE_WRITE_LOCK_H_
