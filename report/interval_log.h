// IntervalLog: where a run's interval rows go as they complete, so that the
// controller's memory does not grow with the length of the run.
//   - Every agent's row of every interval becomes one line of a JSON Lines
//     file (--out-intervals; AgentIntervalJson) and, with --csv, its lines
//     of PREFIX_intervals.csv (IntervalCsvRows, from the figures), written
//     as they arrive: each interval is rendered once per format.
//   - Each interval's TOTAL (for --out's `intervals`) goes to a spool file
//     (an unlinked temporary file in $TMPDIR, else /tmp: one compact line of
//     1-3 kB per interval whatever the number of agents), read back only
//     when WriteJsonReport writes --out, one total at a time. It is created,
//     and room for the planned intervals reserved, when the log opens, so a
//     read-only or full folder stops the run before it starts.
//   - Kept in memory: a bounded chart series, at most MaxChartPoints(agents)
//     points per agent, two neighbouring points merged into one whenever it
//     is full (rates averaged over time, percentiles and queue utilization
//     the highest, counts added), for the HTML report's charts.
//   - Kept in memory too: the stability series of the totals
//     (report/stability.h, at most StabilitySeries::kCapacity points).
//
// Thread-safety: one thread at a time. A run adds its rows under a lock of
// the log's own, outside the run's lock, in sequence order, and has added
// every row before its end reads the log.
#ifndef LOADTEST_REPORT_INTERVAL_LOG_H_
#define LOADTEST_REPORT_INTERVAL_LOG_H_

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "report/aggregator.h"
#include "report/stability.h"
#include "nlohmann/json.hpp"
#include "report/report_file.h"

namespace loadtest::report {

class IntervalLog {
 public:
  // `jsonl_path` and `csv_path` may be empty (not written). Both are written
  // to new temporary files beside them and renamed into place by Close()
  // (report::AtomicFile), so a reader never sees half a file.
  // PermissionDenied or InvalidArgument naming the path when one cannot be
  // created. With `spool_totals` (a run that writes --out) the totals'
  // spool is created now, with room reserved for `expected_intervals`
  // (at most 256 MiB): its error (naming the folder and TMPDIR) is Open's.
  static absl::StatusOr<std::unique_ptr<IntervalLog>> Open(
      std::vector<std::string> agent_ids, const std::string& jsonl_path,
      const std::string& csv_path, bool spool_totals = true,
      int64_t expected_intervals = 0);
  ~IntervalLog();  // Closes (and removes) unfinished files.

  // Points each agent's chart series may hold: 720 for up to 27 agents,
  // fewer beyond (20,000 points in all), at least 32.
  static size_t MaxChartPoints(size_t agents);

  // Takes one completed row. A write error is kept and returned by Close();
  // the files stop growing then, the totals and charts go on.
  void Add(const IntervalRow& row);

  // Flushes and renames the files into place. The first write error, naming
  // the file, if any.
  absl::Status Close();

  // [{sequence, start_s, end_s, total}], one per interval, in order, read
  // back from the spool (for tests and small runs; --out goes through
  // WriteJsonReport, which never holds them all).
  nlohmann::json totals() const;

  // Writes `report` to `path` (via "<path>.tmp", renamed into place) with its
  // `intervals` the spooled totals, one line each, streamed from the spool.
  // An error names the file.
  absl::Status WriteJsonReport(const std::string& path,
                               nlohmann::json report) const;
  // The chart series as interval rows (sequence, start_s, end_s, total,
  // agents[] with agent_id; the figures the charts draw) and how many
  // intervals each point covers: {"intervals_per_point": N, "rows": [...]}.
  nlohmann::json ChartJson() const;
  int64_t rows() const { return rows_; }
  // The totals as the stability verdict reads them (JudgeStability).
  const StabilitySeries& stability() const { return stability_; }

 private:
  explicit IntervalLog(std::vector<std::string> agent_ids);

  // The figures the HTML charts draw, for one agent or the total.
  struct Point {
    bool present = false;
    int64_t sequence = 0;
    double start_s = 0;
    double end_s = 0;
    double writes_per_s = 0;
    double reads_per_s = 0;
    double write_p95_ms = 0;
    double write_p99_ms = 0;
    double read_p95_ms = 0;
    double read_p99_ms = 0;
    double queue_utilization = 0;
    int64_t write_count = 0;
    int64_t read_count = 0;
    int64_t write_errors = 0;
    int64_t write_timeouts = 0;
    int64_t queue_full_errors = 0;
    int64_t read_errors = 0;
    // Store internals and the agent process (0 without them).
    double wal_bytes_max = 0;
    double commit_p99_ms = 0;
    int64_t commit_count = 0;
    int64_t checkpoints = 0;
    int64_t checkpoints_blocked = 0;
    double cpu_fraction = 0;
    // The worst health state of the intervals in the point.
    stats::HealthState health = stats::HealthState::kHealthy;
    // The agent's host (host_seconds 0 without it; the disk's figures
    // only with has_disk).
    double host_seconds = 0;
    double cpu_user = 0;
    double cpu_system = 0;
    double cpu_iowait = 0;
    double cpu_steal = 0;
    bool has_disk = false;
    double disk_utilization = 0;
    double disk_await_ms = 0;
  };
  static Point MakePoint(const IntervalRow& row, const Figures& figures,
                         stats::HealthState health);
  static Point Merge(const Point& a, const Point& b);
  static nlohmann::json PointJson(const Point& p);
  // Halves every series (merging neighbours) once they are full.
  void Compact();

  struct OutFile {
    std::unique_ptr<report::AtomicFile> file;  // Null: not written.
  };
  void Write(OutFile* out, const std::string& text);
  // Calls `fn` with each spooled total (one compact JSON line), in order.
  absl::Status ForEachTotal(
      const std::function<void(const std::string&)>& fn) const;

  const std::vector<std::string> agent_ids_;
  std::map<std::string, size_t> agent_index_;
  const size_t max_points_;
  OutFile jsonl_;
  OutFile csv_;
  absl::Status write_error_;
  report::SpoolFile totals_spool_;  // One compact JSON total per line.
  absl::Status spool_error_;
  std::vector<Point> total_points_;
  std::vector<std::vector<Point>> agent_points_;  // By agent index.
  // Intervals per chart point, and how many went into the last point.
  int64_t per_point_ = 1;
  int64_t in_last_point_ = 0;
  int64_t rows_ = 0;
  StabilitySeries stability_;
};

}  // namespace loadtest::report

#endif  // LOADTEST_REPORT_INTERVAL_LOG_H_
