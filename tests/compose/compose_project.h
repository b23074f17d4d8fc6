// ComposeProject: one docker-compose project of the compose test: the
// shipped deploy/docker-compose.yml with the test's override file on top,
// under a project name no other run uses, so that everything it creates
// carries that name and can be found and removed, whatever the test did.
//
// Thread-safety: one thread at a time; it belongs to the test that made it.
#ifndef LOADTEST_TESTS_COMPOSE_COMPOSE_PROJECT_H_
#define LOADTEST_TESTS_COMPOSE_COMPOSE_PROJECT_H_

#include <chrono>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "tests/e2e/subprocess.h"

namespace loadtest::testing {

// What a project left in the engine.
struct ProjectLeftovers {
  std::vector<std::string> containers;  // Ids, running or not.
  std::vector<std::string> networks;    // Names.
  std::vector<std::string> volumes;     // Names.
  bool empty() const {
    return containers.empty() && networks.empty() && volumes.empty();
  }
  std::string ToString() const;
};

class ComposeProject {
 public:
  // `compose` and `docker`: the programs' paths; `files`: the compose files
  // in order (the first one's folder is the project folder); `name`: the
  // project name; `environment`: NAME=VALUE pairs compose runs with.
  ComposeProject(std::string compose, std::string docker,
                 std::vector<std::string> files, std::string name,
                 std::vector<std::string> environment);
  // RemoveEverything().
  ~ComposeProject();

  ComposeProject(const ComposeProject&) = delete;
  ComposeProject& operator=(const ComposeProject&) = delete;

  // The argv of `docker-compose -p NAME -f FILE... <args>` in the project's
  // environment, for a Subprocess.
  std::vector<std::string> Command(const std::vector<std::string>& args) const;

  // Runs Command(args) to its end; kills it (a test failure) after
  // `deadline`.
  ProcessResult Run(const std::vector<std::string>& args,
                    std::chrono::seconds deadline = kExitDeadline) const;

  // The ids of the service's containers (running or not), sorted.
  std::vector<std::string> ContainerIds(const std::string& service) const;

  // `docker inspect` of each id (an array, in the order given); a discarded
  // value if it failed.
  nlohmann::json Inspect(const std::vector<std::string>& ids) const;

  // Containers, networks and volumes labelled with this project, plus the
  // anonymous volumes `volumes` named (those carry no label): what `down
  // -v` must have removed.
  ProjectLeftovers Leftovers(const std::vector<std::string>& volumes) const;

  // Removes every container (with its anonymous volumes), network and
  // volume labelled with this project. Safe to call at any time, also when
  // nothing is left.
  void RemoveEverything() const;

  const std::string& name() const { return name_; }
  const std::string& docker() const { return docker_; }

 private:
  // Lines of `docker <args>` output, empty ones dropped.
  std::vector<std::string> DockerLines(
      const std::vector<std::string>& args) const;

  const std::string compose_;
  const std::string docker_;
  const std::vector<std::string> files_;
  const std::string name_;
  const std::vector<std::string> environment_;
};

}  // namespace loadtest::testing

#endif  // LOADTEST_TESTS_COMPOSE_COMPOSE_PROJECT_H_
