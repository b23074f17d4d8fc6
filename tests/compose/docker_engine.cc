#include "tests/compose/docker_engine.h"

#include <signal.h>
#include <unistd.h>

#include <utility>

#include "tests/e2e/e2e_util.h"

namespace loadtest::testing {
namespace {

// The storage drivers tried in turn: overlay2 where the kernel and the
// backing file system allow it (the usual case), else vfs, which works on
// any file system (a full copy per layer: slower, never wrong).
constexpr const char* kStorageDrivers[] = {"overlay2", "vfs"};

// mmdebstrap builds a root file system from the Debian package registry in
// about a minute; an import of its tarball takes seconds.
constexpr std::chrono::seconds kMmdebstrapDeadline{900};

std::string LastLines(const std::string& text, size_t count) {
  size_t at = text.size();
  while (count > 0 && at > 0) {
    at = text.rfind('\n', at - 1);
    if (at == std::string::npos) return text;
    --count;
  }
  return text.substr(at);
}

// Whether `pid` (a child not yet reaped) still runs: not gone, not a
// zombie.
bool Alive(pid_t pid) {
  const std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  const size_t name_end = stat.rfind(") ");
  return name_end != std::string::npos && name_end + 2 < stat.size() &&
         stat[name_end + 2] != 'Z';
}

}  // namespace

DockerEngine::DockerEngine(std::string scratch_dir)
    : scratch_dir_(std::move(scratch_dir)) {}

DockerEngine::~DockerEngine() { Stop(); }

bool DockerEngine::Answers(std::string* driver) const {
  const ProcessResult info =
      RunAndWait({docker_, "info", "--format", "{{.Driver}}"});
  if (info.exit_code != 0) return false;
  if (driver != nullptr) {
    *driver = info.stdout_text.substr(0, info.stdout_text.find('\n'));
  }
  return true;
}

DockerEngine::Outcome DockerEngine::Start(std::chrono::seconds deadline,
                                          std::string* message) {
  docker_ = FindProgram("docker");
  if (docker_.empty()) {
    *message =
        "docker not found on PATH (Debian package docker.io; "
        "scripts/install-deps.sh test installs it)";
    return Outcome::kCannotRun;
  }
  if (Answers(&storage_driver_)) return Outcome::kReady;
  if (FindProgram("dockerd").empty()) {
    *message =
        "no Docker engine answers and dockerd is not installed "
        "(Debian package docker.io; scripts/install-deps.sh test "
        "installs it)";
    return Outcome::kCannotRun;
  }
  if (geteuid() != 0) {
    *message = "no Docker engine answers, and only root can start dockerd";
    return Outcome::kCannotRun;
  }
  std::string errors;
  for (const char* driver : kStorageDrivers) {
    std::string error;
    if (StartDockerd(driver, deadline, &error)) return Outcome::kReady;
    errors += error + "\n";
  }
  *message = "dockerd did not start with any storage driver:\n" + errors;
  return Outcome::kFailed;
}

bool DockerEngine::StartDockerd(const std::string& driver,
                                std::chrono::seconds deadline,
                                std::string* error) {
  // dockerd logs a lot: to a file, never into a pipe nobody drains.
  const std::string log = scratch_dir_ + "/dockerd.log";
  dockerd_ = std::make_unique<Subprocess>(std::vector<std::string>{
      "/bin/sh", "-c",
      "exec dockerd --storage-driver=" + driver + " >>'" + log + "' 2>&1"});
  if (!dockerd_->Start(error)) {
    dockerd_.reset();
    return false;
  }
  // dockerd answers once it has set up its storage driver and networks;
  // it exits at once if the driver cannot work here.
  bool exited = false;
  const bool ready = WaitUntil(
      [&] {
        exited = !Alive(dockerd_->pid());
        return exited || Answers(nullptr);
      },
      deadline);
  if (ready && !exited) {
    storage_driver_ = driver;
    return true;
  }
  *error = "dockerd --storage-driver=" + driver +
           (exited ? " exited"
                   : " did not answer within " +
                         std::to_string(deadline.count()) + " s") +
           "; its log ends:\n" + LogTail();
  Stop();
  return false;
}

int DockerEngine::Stop() {
  if (dockerd_ == nullptr) return 0;
  dockerd_->SendSignal(SIGTERM);
  // dockerd stops its containers (each within its own stop timeout) and
  // its containerd before it exits.
  const int code = dockerd_->Wait(std::chrono::seconds(120));
  dockerd_.reset();
  return code;
}

std::string DockerEngine::LogTail() const {
  return LastLines(ReadFile(scratch_dir_ + "/dockerd.log"), 30);
}

bool DockerEngine::HasImage(const std::string& tag) const {
  return RunAndWait({docker_, "image", "inspect", "--format", "{{.Id}}", tag})
             .exit_code == 0;
}

bool DockerEngine::EnsureBaseImages(const std::vector<std::string>& tags,
                                    std::string* error) {
  std::vector<std::string> missing;
  std::string suite;
  for (const std::string& tag : tags) {
    const size_t colon = tag.find(':');
    std::string tag_suite =
        colon == std::string::npos ? "" : tag.substr(colon + 1);
    if (tag_suite.size() > 5 &&
        tag_suite.compare(tag_suite.size() - 5, 5, "-slim") == 0) {
      tag_suite.resize(tag_suite.size() - 5);
    }
    if (tag.rfind("debian:", 0) != 0 || tag_suite.empty() ||
        (!suite.empty() && tag_suite != suite)) {
      *error = "cannot make base image " + tag +
               ": only debian:<suite>[-slim] of one suite are made here";
      return false;
    }
    suite = tag_suite;
    if (!HasImage(tag)) missing.push_back(tag);
  }
  if (missing.empty()) return true;
  const std::string mmdebstrap = FindProgram("mmdebstrap");
  if (mmdebstrap.empty()) {
    *error = "base image " + missing.front() +
             " is missing and mmdebstrap is not installed (Debian package "
             "mmdebstrap; scripts/install-deps.sh test installs it)";
    return false;
  }
  const std::string tarball = scratch_dir_ + "/" + suite + ".tar";
  Subprocess build({mmdebstrap, "--variant=apt", suite, tarball});
  if (!build.Start(error)) return false;
  const int built = build.Wait(kMmdebstrapDeadline);
  if (built != 0) {
    *error = "mmdebstrap --variant=apt " + suite + " failed (exit code " +
             std::to_string(built) + "):\n" +
             LastLines(build.stderr_text(), 30);
    return false;
  }
  // What the Debian images on registries set too: a shell when no command
  // is given.
  const ProcessResult imported =
      RunAndWait({docker_, "import", "--change", "CMD [\"bash\"]", tarball,
                  missing.front()});
  unlink(tarball.c_str());
  if (imported.exit_code != 0) {
    *error = "docker import as " + missing.front() + ": " + Describe(imported);
    return false;
  }
  for (size_t i = 1; i < missing.size(); ++i) {
    const ProcessResult tagged =
        RunAndWait({docker_, "tag", missing.front(), missing[i]});
    if (tagged.exit_code != 0) {
      *error = "docker tag " + missing[i] + ": " + Describe(tagged);
      return false;
    }
  }
  return true;
}

}  // namespace loadtest::testing
