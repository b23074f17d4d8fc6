#include "report/report_file.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace loadtest::report {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

// A scratch folder of the test's own, removed with what is in it.
class ReportFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "reportfile.XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::string File(const std::string& name) const { return dir_ + "/" + name; }
  static std::string Read(const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)),
                       std::istreambuf_iterator<char>());
  }
  static void Write(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
  }
  // Every name in the scratch folder.
  std::set<std::string> Names() const {
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      names.insert(entry.path().filename().string());
    }
    return names;
  }

  std::string dir_;
};

TEST_F(ReportFileTest, AWriteReplacesTheFileWholeAndLeavesNothingElse) {
  const std::string path = File("report.json");
  Write(path, "old\n");
  ASSERT_TRUE(WriteTextFile(path, "new\n").ok());
  EXPECT_EQ(Read(path), "new\n");
  EXPECT_EQ(Names(), std::set<std::string>({"report.json"}));
}

TEST_F(ReportFileTest, AFailedWriteKeepsTheOldFileAndLeavesNoTemporaryOne) {
  const std::string path = File("keep.txt");
  ASSERT_TRUE(WriteTextFile(path, "old\n").ok());
  const absl::Status failed = WriteFileAtomically(path, [](std::FILE* out) {
    std::fputs("half of the new", out);
    return absl::DataLossError("the source went away");
  });
  EXPECT_EQ(failed.code(), absl::StatusCode::kDataLoss) << failed;
  EXPECT_EQ(Read(path), "old\n");
  EXPECT_EQ(Names(), std::set<std::string>({"keep.txt"}));
}

TEST_F(ReportFileTest, AMissingFolderIsNamed) {
  const absl::Status status = WriteTextFile(File("no/such/report.json"), "x");
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << status;
  EXPECT_THAT(status.message(), HasSubstr("no/such/report.json"));
  const absl::Status checked =
      CheckOutputFiles({{"--out", File("no/such/report.json")}});
  EXPECT_EQ(checked.code(), absl::StatusCode::kPermissionDenied) << checked;
  EXPECT_THAT(checked.message(), HasSubstr("--out="));
}

// The report used to be written to PATH.tmp opened with fopen: a link
// planted there made the writer overwrite the link's target.
TEST_F(ReportFileTest, ALinkPlantedAtTheOldTemporaryNameIsNeverFollowed) {
  const std::string victim = File("victim");
  Write(victim, "secret\n");
  ASSERT_EQ(chmod(victim.c_str(), 0600), 0);
  const std::string path = File("report.json");
  fs::create_symlink(victim, path + ".tmp");
  ASSERT_TRUE(WriteTextFile(path, "{}\n").ok());
  EXPECT_EQ(Read(victim), "secret\n");
  EXPECT_EQ(Read(path), "{}\n");
  EXPECT_TRUE(fs::is_symlink(path + ".tmp"));
}

TEST_F(ReportFileTest, TheTemporaryFileIsNewAndBesideTheTarget) {
  const std::string path = File("report.json");
  absl::StatusOr<std::unique_ptr<AtomicFile>> file = AtomicFile::Create(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(fs::path((*file)->temporary_path()).parent_path(), fs::path(dir_));
  EXPECT_FALSE(fs::exists(path));  // Nothing at the target until Commit.
  std::fputs("x", (*file)->file());
  ASSERT_TRUE((*file)->Commit().ok());
  EXPECT_EQ(Read(path), "x");
  EXPECT_EQ(Names(), std::set<std::string>({"report.json"}));
}

TEST_F(ReportFileTest, ExistingPathsThatAreNotRegularFilesAreRefused) {
  const std::string fifo = File("fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const std::string folder = File("folder");
  fs::create_directory(folder);
  const std::string target = File("target.json");
  Write(target, "theirs\n");
  const std::string link = File("link.json");
  fs::create_symlink(target, link);

  struct Case {
    std::string path;
    std::string kind;
  };
  std::vector<Case> cases = {{fifo, "a FIFO"},
                             {folder, "a directory"},
                             {link, "a symbolic link"}};
  // A device node of the test's own, where it may make one (root): the
  // same kind of file as /dev/null, which a root controller once replaced.
  const std::string device = File("null");
  if (mknod(device.c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0) {
    cases.push_back({device, "a character device"});
  }
  for (const Case& c : cases) {
    const absl::Status checked = CheckOutputFiles({{"--html", c.path}});
    EXPECT_EQ(checked.code(), absl::StatusCode::kInvalidArgument) << c.path;
    EXPECT_THAT(checked.message(), HasSubstr("--html=" + c.path));
    EXPECT_THAT(checked.message(), HasSubstr(c.kind));
    const auto created = AtomicFile::Create(c.path);
    EXPECT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument)
        << c.path;
    EXPECT_FALSE(WriteTextFile(c.path, "report\n").ok()) << c.path;
  }
  EXPECT_TRUE(fs::is_fifo(fifo));
  EXPECT_TRUE(fs::is_directory(folder));
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(Read(target), "theirs\n");
  if (cases.size() == 4) {
    EXPECT_TRUE(fs::is_character_file(device));
  }
}

TEST_F(ReportFileTest, ATargetThatBecomesALinkWhileWrittenIsNotReplaced) {
  const std::string path = File("report.json");
  auto file = AtomicFile::Create(path);
  ASSERT_TRUE(file.ok()) << file.status();
  std::fputs("report", (*file)->file());
  const std::string target = File("theirs");
  Write(target, "theirs\n");
  fs::create_symlink(target, path);
  const absl::Status committed = (*file)->Commit();
  EXPECT_EQ(committed.code(), absl::StatusCode::kInvalidArgument) << committed;
  EXPECT_TRUE(fs::is_symlink(path));
  EXPECT_EQ(Read(target), "theirs\n");
  EXPECT_EQ(Names(), std::set<std::string>({"report.json", "theirs"}));
}

TEST_F(ReportFileTest, TwoOutputsNamingOneFileAreRefused) {
  const absl::Status same = CheckOutputFiles(
      {{"--out", File("x.json")}, {"--out-intervals", File("x.json")}});
  EXPECT_EQ(same.code(), absl::StatusCode::kInvalidArgument) << same;
  EXPECT_THAT(same.message(), HasSubstr("--out="));
  EXPECT_THAT(same.message(), HasSubstr("--out-intervals="));
  EXPECT_THAT(same.message(), HasSubstr("name the same file"));

  // Spelled differently: through "." and "..".
  fs::create_directory(File("sub"));
  const absl::Status spelled = CheckOutputFiles(
      {{"--out", File("x.json")}, {"--html", File("sub/../x.json")}});
  EXPECT_EQ(spelled.code(), absl::StatusCode::kInvalidArgument) << spelled;

  // Two names of one existing file (a hard link).
  Write(File("a.json"), "{}");
  fs::create_hard_link(File("a.json"), File("b.json"));
  const absl::Status linked = CheckOutputFiles(
      {{"--out", File("a.json")}, {"--html", File("b.json")}});
  EXPECT_EQ(linked.code(), absl::StatusCode::kInvalidArgument) << linked;

  EXPECT_TRUE(CheckOutputFiles({{"--out", File("x.json")},
                                {"--html", File("x.html")},
                                {"--csv", ""},
                                {"--prometheus-targets", ""}})
                  .ok());
}

TEST_F(ReportFileTest, AnOutputNamingAKeptFileIsRefused) {
  Write(File("loadtest.db"), "");
  const absl::Status db = CheckOutputFiles(
      {{"--out", File("loadtest.db")}}, {{"-db", File("loadtest.db")}});
  EXPECT_EQ(db.code(), absl::StatusCode::kInvalidArgument) << db;
  EXPECT_THAT(db.message(), HasSubstr("-db"));
  // Side files that do not exist yet are still the database's.
  const absl::Status wal = CheckOutputFiles(
      {{"--html", File("loadtest.db-wal")}},
      {{"-db", File("loadtest.db")}, {"-db", File("loadtest.db-wal")}});
  EXPECT_EQ(wal.code(), absl::StatusCode::kInvalidArgument) << wal;
  EXPECT_EQ(Names(), std::set<std::string>({"loadtest.db"}));
}

// Sets TMPDIR for one test and puts back what was there.
class ScopedTmpdir {
 public:
  explicit ScopedTmpdir(const std::string& value) {
    if (const char* old = std::getenv("TMPDIR")) old_ = old;
    had_ = std::getenv("TMPDIR") != nullptr;
    setenv("TMPDIR", value.c_str(), 1);
  }
  ~ScopedTmpdir() {
    if (had_) {
      setenv("TMPDIR", old_.c_str(), 1);
    } else {
      unsetenv("TMPDIR");
    }
  }

 private:
  bool had_ = false;
  std::string old_;
};

TEST_F(ReportFileTest, TheSpoolIsCreatedInTmpdirAndLeavesNoName) {
  ScopedTmpdir tmpdir(dir_);
  EXPECT_EQ(SpoolDirectory(), dir_);
  absl::StatusOr<SpoolFile> spool = CreateSpoolFile("the totals", 1 << 20);
  ASSERT_TRUE(spool.ok()) << spool.status();
  EXPECT_TRUE(Names().empty());  // Unlinked at once.
  std::fputs("line\n", spool->get());
  ASSERT_EQ(std::fseek(spool->get(), 0, SEEK_SET), 0);
  char buffer[16] = {};
  ASSERT_NE(std::fgets(buffer, sizeof(buffer), spool->get()), nullptr);
  EXPECT_STREQ(buffer, "line\n");
}

TEST_F(ReportFileTest, ASpoolFolderThatCannotTakeTheFileIsNamed) {
  ScopedTmpdir tmpdir(File("missing"));
  absl::StatusOr<SpoolFile> spool = CreateSpoolFile("the totals", 0);
  ASSERT_FALSE(spool.ok());
  EXPECT_THAT(spool.status().message(), HasSubstr(File("missing")));
  EXPECT_THAT(spool.status().message(), HasSubstr("TMPDIR"));
}

}  // namespace
}  // namespace loadtest::report
