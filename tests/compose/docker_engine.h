// DockerEngine: the Docker engine the compose test drives. It uses the
// engine that is already running, or (as root, with Debian's docker.io
// installed) starts `dockerd` itself, with the overlay2 storage driver or,
// where overlay2 cannot work, vfs, and stops only a dockerd it started. It
// also makes the Debian base images the Dockerfiles start FROM when they are
// missing, with mmdebstrap and `docker import`: nothing is pulled from a
// registry of images, and the images stay in the engine for the next run.
//
// Thread-safety: one thread at a time; it belongs to the test that made it.
#ifndef LOADTEST_TESTS_COMPOSE_DOCKER_ENGINE_H_
#define LOADTEST_TESTS_COMPOSE_DOCKER_ENGINE_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/e2e/subprocess.h"

namespace loadtest::testing {

class DockerEngine {
 public:
  // How Start() ended.
  enum class Outcome {
    kReady,      // An engine answers; docker() talks to it.
    kCannotRun,  // Docker cannot run here (what is missing in *message).
    kFailed,     // It should have run and did not (why in *message).
  };

  // `scratch_dir` holds dockerd's log; it must outlive this object.
  explicit DockerEngine(std::string scratch_dir);
  // Stops a dockerd this object started (as Stop()).
  ~DockerEngine();

  DockerEngine(const DockerEngine&) = delete;
  DockerEngine& operator=(const DockerEngine&) = delete;

  // Finds the docker client, and an engine that answers `docker info`; if
  // none does, starts dockerd (root only) and waits up to `deadline` for it
  // per storage driver tried. kCannotRun only when a program is missing or
  // there is no engine and no root to start one; a dockerd that was started
  // and never answered is kFailed, with the end of its log.
  Outcome Start(std::chrono::seconds deadline, std::string* message);

  // Makes every image in `tags` ("debian:bookworm", ...) that the engine
  // lacks from one `mmdebstrap --variant=apt <suite>` root filesystem (the
  // suite is the part after the colon, less a "-slim" suffix; all the tags
  // given must name the same suite). Tags already present are kept as they
  // are. False, with the reason in *error, if mmdebstrap is missing or a
  // step failed.
  bool EnsureBaseImages(const std::vector<std::string>& tags,
                        std::string* error);

  // SIGTERM to a dockerd this object started, then waits for it to exit
  // (its containers are stopped by it). Returns its exit code, or 0 if it
  // was not started here.
  int Stop();

  // The docker client's path (after Start()).
  const std::string& docker() const { return docker_; }
  bool started_here() const { return dockerd_ != nullptr; }
  // "overlay2" or "vfs" when started here; else what the engine reports.
  const std::string& storage_driver() const { return storage_driver_; }
  // The end of the started dockerd's log, for failure messages.
  std::string LogTail() const;

 private:
  // Starts dockerd with `driver` and waits until `docker info` answers.
  bool StartDockerd(const std::string& driver, std::chrono::seconds deadline,
                    std::string* error);
  bool Answers(std::string* driver) const;
  bool HasImage(const std::string& tag) const;

  const std::string scratch_dir_;
  std::string docker_;
  std::string storage_driver_;
  std::unique_ptr<Subprocess> dockerd_;
};

}  // namespace loadtest::testing

#endif  // LOADTEST_TESTS_COMPOSE_DOCKER_ENGINE_H_
