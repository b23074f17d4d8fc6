// Diagnosis: why the store broke where it did and what to change, from the
// figures of every agent's intervals (docs/diagnosis.md lists each rule,
// its threshold and the guide's line it comes from). Each finding names the
// symptom, the cause, the evidence (figures with their agent and interval
// range) and the flags to try.
//
// Pure: no I/O, no clock. One thread at a time.
#ifndef LOADTEST_REPORT_DIAGNOSIS_H_
#define LOADTEST_REPORT_DIAGNOSIS_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "protocol/run_spec.h"
#include "stats/health.h"

namespace loadtest::report {

struct Figures;

// The run's settings the rules and the advice need, as one agent got them.
struct DiagnosisSettings {
  int writers = 0;
  int readers = 0;
  int batch_size = 0;
  int queue_size = 0;
  std::chrono::nanoseconds batch_timeout{0};
  bool linger = false;      // --batch-policy=linger.
  bool sync_full = false;   // --sync=full.
  bool open_loop = false;   // --write-rate or --stages.
  // Open-loop writes dispatched without a thread each (--write-dispatch).
  bool async_writes = false;
  int reader_nice = 0;
};
DiagnosisSettings DiagnosisSettingsOf(const protocol::RunSpec& spec);

struct Finding {
  std::string id;       // e.g. "queue_full"; docs/diagnosis.md lists them.
  std::string symptom;  // "writes refused: queue full".
  std::string cause;
  // The figures behind it, of the interval where it was worst.
  std::string evidence;
  std::vector<std::string> advice;  // "--queue-size=20000", "check disk I/O".
  std::string guide;  // The guide's line it follows, or "" (not in it).
  std::vector<std::string> agents;  // Where it held, in the run's order.
  int64_t first_interval = 0;  // Sequence numbers; count of agent-intervals.
  int64_t last_interval = 0;
  int64_t intervals = 0;
  double first_s = 0;  // Seconds since the run began.
  double last_s = 0;
};

class Diagnoser {
 public:
  explicit Diagnoser(DiagnosisSettings settings = DiagnosisSettings())
      : settings_(settings) {}

  // One agent's interval (`interval`: that interval's figures alone) and
  // its health, in order.
  void Observe(const std::string& agent_id, int64_t sequence, double start_s,
               double end_s, const Figures& interval,
               const stats::Health& health);

  // The findings so far, most severe first; empty when nothing is wrong.
  std::vector<Finding> Findings() const;

 private:
  struct Track {
    std::vector<std::string> agents;
    int64_t first = 0, last = 0, count = 0;
    double first_s = 0, last_s = 0;
    double worst = -1;  // The rule's own measure; the largest is kept.
    std::string evidence, cause;
    std::vector<std::string> advice;
  };
  struct Memory {
    int64_t first_rss = 0, last_rss = 0;
    int64_t first = 0, last = 0;
    double first_s = 0, last_s = 0;
  };
  // Counts one agent-interval in rule `id`'s track; keeps the evidence,
  // cause and advice of the worst one (largest `measure`).
  void Fire(const std::string& id, const std::string& agent_id,
            int64_t sequence, double start_s, double end_s, double measure,
            std::string cause, std::string evidence,
            std::vector<std::string> advice);

  DiagnosisSettings settings_;
  std::map<std::string, Track> tracks_;
  std::vector<std::string> agent_order_;
  std::map<std::string, Memory> memory_;
};

}  // namespace loadtest::report

#endif  // LOADTEST_REPORT_DIAGNOSIS_H_
