#include "tests/compose/compose_project.h"

#include <algorithm>
#include <sstream>
#include <utility>

#include "gtest/gtest.h"

namespace loadtest::testing {
namespace {

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : " ") + item;
  return out;
}

}  // namespace

std::string ProjectLeftovers::ToString() const {
  return "containers [" + Join(containers) + "], networks [" + Join(networks) +
         "], volumes [" + Join(volumes) + "]";
}

ComposeProject::ComposeProject(std::string compose, std::string docker,
                               std::vector<std::string> files, std::string name,
                               std::vector<std::string> environment)
    : compose_(std::move(compose)),
      docker_(std::move(docker)),
      files_(std::move(files)),
      name_(std::move(name)),
      environment_(std::move(environment)) {}

ComposeProject::~ComposeProject() { RemoveEverything(); }

std::vector<std::string> ComposeProject::Command(
    const std::vector<std::string>& args) const {
  // env(1) sets the variables for compose alone, not for the test.
  std::vector<std::string> argv = {"/usr/bin/env"};
  argv.insert(argv.end(), environment_.begin(), environment_.end());
  argv.push_back(compose_);
  argv.push_back("--project-name");
  argv.push_back(name_);
  for (const std::string& file : files_) {
    argv.push_back("--file");
    argv.push_back(file);
  }
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

ProcessResult ComposeProject::Run(const std::vector<std::string>& args,
                                  std::chrono::seconds deadline) const {
  ProcessResult result;
  Subprocess process(Command(args));
  std::string error;
  if (!process.Start(&error)) {
    ADD_FAILURE() << "cannot start docker-compose: " << error;
    return result;
  }
  result.exit_code = process.Wait(deadline);
  result.stdout_text = process.stdout_text();
  result.stderr_text = process.stderr_text();
  return result;
}

std::vector<std::string> ComposeProject::DockerLines(
    const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {docker_};
  argv.insert(argv.end(), args.begin(), args.end());
  const ProcessResult result = RunAndWait(argv);
  EXPECT_EQ(result.exit_code, 0) << Join(argv) << ": " << Describe(result);
  std::vector<std::string> lines;
  std::istringstream in(result.stdout_text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::vector<std::string> ComposeProject::ContainerIds(
    const std::string& service) const {
  std::vector<std::string> ids =
      DockerLines({"ps", "--all", "--quiet", "--no-trunc", "--filter",
                   "label=com.docker.compose.project=" + name_, "--filter",
                   "label=com.docker.compose.service=" + service});
  std::sort(ids.begin(), ids.end());
  return ids;
}

nlohmann::json ComposeProject::Inspect(
    const std::vector<std::string>& ids) const {
  std::vector<std::string> argv = {docker_, "inspect"};
  argv.insert(argv.end(), ids.begin(), ids.end());
  const ProcessResult result = RunAndWait(argv);
  if (result.exit_code != 0) {
    ADD_FAILURE() << "docker inspect: " << Describe(result);
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
  return nlohmann::json::parse(result.stdout_text, nullptr,
                               /*allow_exceptions=*/false);
}

ProjectLeftovers ComposeProject::Leftovers(
    const std::vector<std::string>& volumes) const {
  const std::string label = "label=com.docker.compose.project=" + name_;
  ProjectLeftovers left;
  left.containers =
      DockerLines({"ps", "--all", "--quiet", "--no-trunc", "--filter", label});
  left.networks = DockerLines(
      {"network", "ls", "--format", "{{.Name}}", "--filter", label});
  left.volumes = DockerLines({"volume", "ls", "--quiet", "--filter", label});
  for (const std::string& volume : volumes) {
    if (RunAndWait({docker_, "volume", "inspect", volume}).exit_code == 0 &&
        std::find(left.volumes.begin(), left.volumes.end(), volume) ==
            left.volumes.end()) {
      left.volumes.push_back(volume);
    }
  }
  return left;
}

void ComposeProject::RemoveEverything() const {
  const ProjectLeftovers left = Leftovers({});
  if (!left.containers.empty()) {
    // -v: the containers' anonymous volumes (the agents' databases) too.
    std::vector<std::string> argv = {docker_, "rm", "--force", "--volumes"};
    argv.insert(argv.end(), left.containers.begin(), left.containers.end());
    RunAndWait(argv);
  }
  if (!left.networks.empty()) {
    std::vector<std::string> argv = {docker_, "network", "rm"};
    argv.insert(argv.end(), left.networks.begin(), left.networks.end());
    RunAndWait(argv);
  }
  if (!left.volumes.empty()) {
    std::vector<std::string> argv = {docker_, "volume", "rm", "--force"};
    argv.insert(argv.end(), left.volumes.begin(), left.volumes.end());
    RunAndWait(argv);
  }
}

}  // namespace loadtest::testing
