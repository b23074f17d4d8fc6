#include "report/html_report.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace loadtest::report {
namespace {

using nlohmann::json;

std::string Escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Text(const json& value) {
  if (value.is_string()) return Escape(value.get<std::string>());
  if (value.is_boolean()) return value.get<bool>() ? "yes" : "no";
  if (value.is_number_float()) return absl::StrFormat("%.4g", value.get<double>());
  if (value.is_null()) return "";
  return Escape(value.dump());
}

double Number(const json& object, const json::json_pointer& pointer) {
  if (!object.contains(pointer)) return 0;
  const json& v = object.at(pointer);
  return v.is_number() ? v.get<double>() : 0;
}

std::string Fixed(double value, int digits) {
  return absl::StrFormat("%.*f", digits, value);
}

// ---------------------------------------------------------------- charts

struct Series {
  std::string name;
  // One value per interval (start_s, end_s, value); nullopt leaves a gap
  // (e.g. a latency in an interval with no samples).
  std::vector<std::optional<double>> values;
  bool total = false;   // Drawn thick and dark.
  bool dashed = false;  // A second statistic of the same subject.
  bool quiet = false;   // One of many agents: thin, grey, not in the legend.
};

// A straight segment over a chart: the stability verdict's trends
// (summary.stability): the fitted throughput line, a third's p99.
struct TrendLine {
  std::string name;
  double x0, y0, x1, y1;
};

struct Chart {
  std::string name;   // data-chart
  std::string title;
  std::string unit;   // Axis label.
  std::vector<Series> series;
  // A ratio's chart (in %) has the fixed axis 0-100 so that its height
  // reads as a share: 1% stays near the floor, never full height. 0: the
  // axis fits the values.
  double fixed_top = 0;
  std::vector<TrendLine> trends = {};  // Drawn over the series.
};

constexpr const char* kTrendColor = "#d62728";

constexpr const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c",
                                    "#d62728", "#9467bd", "#8c564b",
                                    "#e377c2", "#17becf", "#bcbd22",
                                    "#7f7f7f"};
constexpr size_t kMaxLegendAgents = 12;

// A round axis top and step for values up to `max`.
void NiceAxis(double max, double* top, double* step) {
  if (!(max > 0)) max = 1;
  const double raw = max / 4;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double nice = magnitude;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    nice = m * magnitude;
    if (nice >= raw) break;
  }
  *step = nice;
  *top = std::ceil(max / nice) * nice;
  if (*top < max) *top += nice;
}

std::string AxisNumber(double v) {
  if (v == 0) return "0";
  if (std::fabs(v) >= 1e6) return absl::StrFormat("%.3gM", v / 1e6);
  if (std::fabs(v) >= 1e4) return absl::StrFormat("%.3gk", v / 1e3);
  return absl::StrFormat("%.4g", v);
}

// The timeline charts' width and side margins, which the health band under
// them shares so that its spans line up with their time axis.
constexpr double kWidth = 760, kLeft = 64, kRight = 16;

// A chart of write latency against a write rate, both axes from zero
// (find-max's steps, tune's configurations): the scales, and the SVG's
// opening with the grid, the ticks and the axis labels.
class XyPlot {
 public:
  static constexpr double kHeight = 300, kTop = 14, kBottom = 44;

  XyPlot(double max_x, double max_y) {
    NiceAxis(max_x, &x_top_, &x_step_);
    NiceAxis(max_y, &y_top_, &y_step_);
  }
  double height() const { return kHeight - kTop - kBottom; }
  double X(double v) const { return kLeft + width() * v / x_top_; }
  double Y(double v) const { return kTop + height() * (1 - v / y_top_); }

  std::string Open(const char* name, const char* aria, const char* x_label,
                   const char* y_label) const {
    std::string svg = absl::StrFormat(
        "<svg class=\"chart\" data-chart=\"%s\" "
        "xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" "
        "role=\"img\" aria-label=\"%s\">\n",
        name, kWidth, kHeight, aria);
    for (double v = 0; v <= y_top_ + y_step_ / 2; v += y_step_) {
      absl::StrAppendFormat(
          &svg,
          "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>"
          "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
          kLeft, kWidth - kRight, Y(v), Y(v), kLeft - 6, Y(v) + 4, AxisNumber(v));
    }
    for (double v = 0; v <= x_top_ + x_step_ / 2; v += x_step_) {
      absl::StrAppendFormat(
          &svg,
          "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
          X(v), kHeight - kBottom + 16, AxisNumber(v));
    }
    absl::StrAppendFormat(
        &svg,
        "<text class=\"axis\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s"
        "</text>\n<text class=\"axis\" x=\"14\" y=\"%.1f\" "
        "transform=\"rotate(-90 14 %.1f)\" text-anchor=\"middle\">%s</text>\n",
        kLeft + width() / 2, kHeight - 6, x_label, kTop + height() / 2,
        kTop + height() / 2, y_label);
    return svg;
  }

 private:
  static double width() { return kWidth - kLeft - kRight; }
  double x_top_ = 1, x_step_ = 1, y_top_ = 1, y_step_ = 1;
};

// A run's report carries a bounded chart series beside the totals; a
// report made from whole interval rows is drawn from those.
const json& ChartRows(const json& report) {
  static const json* const kNone = new json(json::array());
  if (report.contains("chart")) return report.at("chart").at("rows");
  if (report.contains("intervals")) return report.at("intervals");
  return *kNone;
}

std::string SvgChart(const Chart& chart, const std::vector<double>& starts,
                     const std::vector<double>& ends) {
  constexpr double kHeight = 270, kTop = 14, kBottom = 40;
  const double plot_w = kWidth - kLeft - kRight;
  const double plot_h = kHeight - kTop - kBottom;
  double x0 = 0, x1 = 1;
  if (!starts.empty()) {
    x0 = *std::min_element(starts.begin(), starts.end());
    x1 = *std::max_element(ends.begin(), ends.end());
    if (!(x1 > x0)) x1 = x0 + 1;
  }
  double max = 0;
  for (const Series& s : chart.series) {
    for (const auto& v : s.values) {
      if (v.has_value()) max = std::max(max, *v);
    }
  }
  for (const TrendLine& t : chart.trends) max = std::max({max, t.y0, t.y1});
  double top = 1, step = 1;
  if (chart.fixed_top > 0 && max <= chart.fixed_top) {
    top = chart.fixed_top;
    step = chart.fixed_top / 4;
  } else {
    NiceAxis(max, &top, &step);
  }
  auto x = [&](double seconds) { return kLeft + plot_w * (seconds - x0) / (x1 - x0); };
  auto y = [&](double value) { return kTop + plot_h * (1 - value / top); };

  std::string svg = absl::StrFormat(
      "<svg class=\"chart\" data-chart=\"%s\" data-y-top=\"%s\" "
      "data-y-fixed=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" "
      "viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"%s\">\n",
      chart.name, AxisNumber(top), chart.fixed_top > 0 ? "true" : "false",
      kWidth, kHeight, Escape(chart.title));
  // Grid and y axis.
  for (double v = 0; v <= top + step / 2; v += step) {
    absl::StrAppendFormat(
        &svg,
        "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>"
        "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
        kLeft, kLeft + plot_w, y(v), y(v), kLeft - 6, y(v) + 4, AxisNumber(v));
  }
  // x axis: about six ticks at round seconds.
  double x_top = 1, x_step = 1;
  NiceAxis(x1 - x0, &x_top, &x_step);
  for (double t = std::ceil(x0 / x_step) * x_step; t <= x1 + 1e-9; t += x_step) {
    absl::StrAppendFormat(
        &svg,
        "<line class=\"axis\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>"
        "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%ss</text>\n",
        x(t), x(t), kTop + plot_h, kTop + plot_h + 5, x(t), kTop + plot_h + 18,
        AxisNumber(t));
  }
  absl::StrAppendFormat(
      &svg,
      "<line class=\"axis\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>\n"
      "<text class=\"label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">"
      "elapsed time</text>\n"
      "<text class=\"label\" transform=\"translate(14 %.1f) rotate(-90)\" "
      "text-anchor=\"middle\">%s</text>\n",
      kLeft, kLeft + plot_w, kTop + plot_h, kTop + plot_h, kLeft + plot_w / 2,
      kHeight - 4, kTop + plot_h / 2, Escape(chart.unit));
  // Lines: each interval's value held from its start to its end (a step
  // line), so one interval is a visible segment too. Quiet agents first,
  // the total last (on top).
  size_t color = 0;
  std::vector<const Series*> order;
  for (const Series& s : chart.series) if (s.quiet) order.push_back(&s);
  for (const Series& s : chart.series) if (!s.quiet && !s.total) order.push_back(&s);
  for (const Series& s : chart.series) if (s.total) order.push_back(&s);
  for (const Series* s : order) {
    std::string d;
    bool open = false;
    for (size_t i = 0; i < s->values.size() && i < starts.size(); ++i) {
      if (!s->values[i].has_value()) {
        open = false;
        continue;
      }
      const double vy = y(*s->values[i]);
      absl::StrAppendFormat(&d, "%s%.1f %.1f L%.1f %.1f ", open ? "L" : "M",
                            x(starts[i]), vy, x(ends[i]), vy);
      open = true;
    }
    std::string stroke;
    double width = 1.5;
    if (s->total) {
      stroke = "#222";
      width = 2.5;
    } else if (s->quiet) {
      stroke = "#bbb";
      width = 1;
    } else {
      stroke = kPalette[color++ % (sizeof(kPalette) / sizeof(kPalette[0]))];
    }
    absl::StrAppendFormat(
        &svg,
        "<path class=\"series\" data-series=\"%s\" d=\"%s\" fill=\"none\" "
        "stroke=\"%s\" stroke-width=\"%.1f\"%s><title>%s</title></path>\n",
        Escape(s->name), d, stroke, width,
        s->dashed ? " stroke-dasharray=\"6 4\"" : "", Escape(s->name));
  }
  for (const TrendLine& t : chart.trends) {
    absl::StrAppendFormat(
        &svg,
        "<line class=\"trend\" data-trend=\"%s\" x1=\"%.1f\" y1=\"%.1f\" "
        "x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\" "
        "stroke-dasharray=\"2 3\"><title>%s</title></line>\n",
        Escape(t.name), x(t.x0), y(std::max(0.0, t.y0)), x(t.x1),
        y(std::max(0.0, t.y1)), kTrendColor, Escape(t.name));
  }
  svg += "</svg>\n";

  // Legend (HTML, below the chart), in drawing colours.
  std::string legend = "<ul class=\"legend\">";
  color = 0;
  size_t quiet = 0;
  for (const Series* s : order) {
    if (s->quiet) {
      ++quiet;
      continue;
    }
    const std::string c =
        s->total ? "#222"
                 : kPalette[color++ % (sizeof(kPalette) / sizeof(kPalette[0]))];
    absl::StrAppendFormat(&legend,
                          "<li><span class=\"swatch%s\" style=\"border-color:%s\">"
                          "</span>%s</li>",
                          s->dashed ? " dashed" : "", c, Escape(s->name));
  }
  for (const TrendLine& t : chart.trends) {
    absl::StrAppendFormat(&legend,
                          "<li><span class=\"swatch dashed\" "
                          "style=\"border-color:%s\"></span>%s</li>",
                          kTrendColor, Escape(t.name));
  }
  if (quiet > 0) {
    absl::StrAppendFormat(&legend,
                          "<li><span class=\"swatch\" style=\"border-color:#bbb\">"
                          "</span>%d more agents</li>",
                          quiet);
  }
  legend += "</ul>";
  return absl::StrCat("<figure><figcaption>", Escape(chart.title),
                      "</figcaption>\n", svg, legend, "</figure>\n");
}

// The stability verdict's trends (summary.stability, when judged): the
// fitted line on the write throughput chart, the first and last third's
// p99 on the write latency chart.
void AddStabilityTrends(const json& report, std::vector<Chart>* charts) {
  const json stability =
      report.value("/summary/stability"_json_pointer, json::object());
  if (!stability.contains("throughput")) return;
  for (Chart& c : *charts) {
    if (c.name == "write_throughput") {
      const json& t = stability.at("throughput").at("trend");
      c.trends.push_back(
          {absl::StrFormat("trend %+.1f%% per 10 min",
                           stability.at("throughput").value(
                               "drift_percent_per_10min", 0.0)),
           t.value("from_s", 0.0), t.value("from_writes_per_s", 0.0),
           t.value("to_s", 0.0), t.value("to_writes_per_s", 0.0)});
    }
    if (c.name == "write_latency") {
      const json& p = stability.at("write_p99");
      for (const char* third : {"first_third", "last_third"}) {
        const double ms = p.value(absl::StrCat(third, "_ms"), 0.0);
        const json& span = p.at(third);
        c.trends.push_back({absl::StrFormat("p99 of the %s third: %.2f ms",
                                            third[0] == 'f' ? "first" : "last",
                                            ms),
                            span.value("from_s", 0.0), ms,
                            span.value("to_s", 0.0), ms});
      }
    }
  }
}

// The stability verdict's headline and reasons (summary.stability;
// docs/stability.md); its trends are drawn on the charts.
std::string StabilityHtml(const json& summary) {
  if (!summary.contains("stability") || !summary.at("stability").is_object()) {
    return "";
  }
  const json& st = summary.at("stability");
  const std::string verdict = st.value("verdict", std::string());
  const char* css = verdict == "unstable" ? "bad"
                    : verdict == "stable" ? "ok"
                                          : "note";
  std::string html = absl::StrCat(
      "<h2>Stability</h2>\n<p><span class=\"", css, "\" data-stability=\"",
      Escape(verdict), "\">", Text(st.value("headline", json(""))),
      "</span></p>\n");
  const json reasons = st.value("reasons", json::array());
  if (reasons.size() > 1) {
    html += "<ul>";
    for (size_t i = 1; i < reasons.size(); ++i) {
      absl::StrAppend(&html, "<li>also: ", Text(reasons[i]), "</li>");
    }
    html += "</ul>\n";
  }
  return html;
}

// The charts of the report's interval rows.
std::vector<Chart> Charts(const json& report, std::vector<double>* starts,
                          std::vector<double>* ends) {
  const json& rows = ChartRows(report);
  std::vector<std::string> agent_ids;
  for (const json& row : rows) {
    starts->push_back(row.value("start_s", 0.0));
    ends->push_back(row.value("end_s", 0.0));
    for (const json& a : row.value("agents", json::array())) {
      const std::string id = a.value("agent_id", "");
      if (std::find(agent_ids.begin(), agent_ids.end(), id) == agent_ids.end()) {
        agent_ids.push_back(id);
      }
    }
  }
  const bool several = agent_ids.size() > 1;
  const bool quiet_agents = agent_ids.size() > kMaxLegendAgents;

  // One value per row: of the total, or of one agent (nullopt where the
  // agent is missing from the row or `present` says there is no sample).
  using Pointer = json::json_pointer;
  auto total_series = [&](const std::string& name, const std::string& pointer,
                          const std::string& count_pointer) {
    Series s;
    s.name = name;
    s.total = true;
    for (const json& row : rows) {
      const json& t = row.at("total");
      if (!count_pointer.empty() && Number(t, Pointer(count_pointer)) == 0) {
        s.values.push_back(std::nullopt);
      } else {
        s.values.push_back(Number(t, Pointer(pointer)));
      }
    }
    return s;
  };
  auto agent_series = [&](const std::string& id, const std::string& name,
                          const std::string& pointer,
                          const std::string& count_pointer) {
    Series s;
    s.name = name;
    s.quiet = quiet_agents;
    for (const json& row : rows) {
      std::optional<double> value;
      for (const json& a : row.value("agents", json::array())) {
        if (a.value("agent_id", "") != id) continue;
        if (count_pointer.empty() || Number(a, Pointer(count_pointer)) > 0) {
          value = Number(a, Pointer(pointer));
        }
      }
      s.values.push_back(value);
    }
    return s;
  };

  std::vector<Chart> charts;
  {
    Chart c{"write_throughput", "Write throughput (acknowledged writes/s)",
            "writes/s", {}};
    if (several) {
      for (const std::string& id : agent_ids) {
        c.series.push_back(agent_series(id, id, "/writes_per_s", ""));
      }
    }
    c.series.push_back(total_series(several ? "total" : "writes/s",
                                    "/writes_per_s", ""));
    charts.push_back(std::move(c));
  }
  {
    Chart c{"read_throughput", "Read throughput (successful reads/s)", "reads/s",
            {}};
    if (several) {
      for (const std::string& id : agent_ids) {
        c.series.push_back(agent_series(id, id, "/reads_per_s", ""));
      }
    }
    c.series.push_back(
        total_series(several ? "total" : "reads/s", "/reads_per_s", ""));
    charts.push_back(std::move(c));
  }
  for (const char* kind : {"write", "read"}) {
    const std::string base = absl::StrCat("/", kind, "_latency_ms");
    const std::string count = base + "/count";
    Chart c{absl::StrCat(kind, "_latency"),
            absl::StrCat(kind[0] == 'w' ? "Write" : "Read",
                         " latency p95 and p99 (ms, merged over agents)"),
            "ms",
            {}};
    if (several) {
      for (const std::string& id : agent_ids) {
        c.series.push_back(
            agent_series(id, absl::StrCat(id, " p99"), base + "/p99", count));
      }
    }
    Series p95 = total_series(several ? "total p95" : "p95", base + "/p95", count);
    p95.dashed = true;
    c.series.push_back(std::move(p95));
    c.series.push_back(
        total_series(several ? "total p99" : "p99", base + "/p99", count));
    charts.push_back(std::move(c));
  }
  {
    Chart c{"queue_utilization",
            "Queue utilization (peak depth / queue size, %)", "%", {}};
    auto percent = [](Series s) {
      for (auto& v : s.values) {
        if (v.has_value()) *v *= 100;
      }
      return s;
    };
    if (several) {
      for (const std::string& id : agent_ids) {
        c.series.push_back(percent(agent_series(id, id, "/queue_utilization", "")));
      }
    }
    c.series.push_back(percent(total_series(several ? "highest agent" : "queue",
                                            "/queue_utilization", "")));
    c.fixed_top = 100;
    charts.push_back(std::move(c));
  }
  // Store internals and the load generator: the why beside the latency.
  auto scaled = [](Series s, double factor) {
    for (auto& v : s.values) {
      if (v.has_value()) *v *= factor;
    }
    return s;
  };
  auto per_agent_chart = [&](Chart c, const std::string& pointer,
                             const std::string& count_pointer, double factor,
                             const std::string& total_name) {
    if (several) {
      for (const std::string& id : agent_ids) {
        c.series.push_back(
            scaled(agent_series(id, id, pointer, count_pointer), factor));
      }
    }
    c.series.push_back(
        scaled(total_series(several ? total_name : c.unit, pointer, count_pointer),
               factor));
    charts.push_back(std::move(c));
  };
  per_agent_chart({"wal_size",
                   "SQLite WAL length in use (MiB, largest in the interval)",
                   "MiB",
                   {}},
                  "/store/wal_bytes_max", "", 1.0 / (1024 * 1024),
                  "all agents");
  per_agent_chart({"commit_latency",
                   "COMMIT p99 (ms, the statement alone: the sync cost)", "ms",
                   {}},
                  "/store/commit_ms/p99", "/store/commit_ms/count", 1,
                  "all agents");
  per_agent_chart(
      {"generator_cpu",
       "Load generator CPU (% of the agent's usable cores; 90% and over: "
       "limited by the generator)",
       "%",
       {},
       100},
      "/process/cpu_fraction", "", 100, "all agents");
  {
    Chart c{"checkpoints",
            "WAL checkpoints per interval (all agents): run, and blocked by a "
            "reader's snapshot",
            "count",
            {}};
    for (const auto& [name, pointer] :
         {std::pair<const char*, const char*>{"checkpoints", "/store/checkpoints"},
          {"blocked", "/store/checkpoints_blocked"}}) {
      Series s = total_series(name, pointer, "");
      s.total = false;
      c.series.push_back(std::move(s));
    }
    charts.push_back(std::move(c));
  }
  {
    Chart c{"errors", "Errors per interval (all agents)", "count", {}};
    const std::pair<const char*, const char*> kinds[] = {
        {"write errors", "/write_errors"},
        {"write timeouts", "/write_timeouts"},
        {"queue full", "/queue_full_errors"},
        {"read errors", "/read_errors"}};
    for (const auto& [name, pointer] : kinds) {
      Series s = total_series(name, pointer, "");
      s.total = false;
      c.series.push_back(std::move(s));
    }
    charts.push_back(std::move(c));
  }
  // The host (`htop`, `iostat -x 1`): only when the agents reported it.
  auto any_row_has = [&](const std::string& pointer) {
    const Pointer p(pointer);
    for (const json& row : rows) {
      if (row.at("total").contains(p)) return true;
    }
    return false;
  };
  if (any_row_has("/host/cpu/steal")) {
    Chart c{"host_cpu",
            "Host CPU (% of all its CPUs' time, averaged over the agents' "
            "hosts): steal and iowait beside user and system",
            "%",
            {},
            100};
    for (const auto& [name, pointer] :
         {std::pair<const char*, const char*>{"steal", "/host/cpu/steal"},
          {"iowait", "/host/cpu/iowait"},
          {"user", "/host/cpu/user"},
          {"system", "/host/cpu/system"}}) {
      Series s = scaled(total_series(name, pointer, "/host/seconds"), 100);
      s.total = false;
      s.dashed = std::string(name) == "user" || std::string(name) == "system";
      c.series.push_back(std::move(s));
    }
    charts.push_back(std::move(c));
  }
  if (any_row_has("/host/disk/utilization")) {
    per_agent_chart({"disk_utilization",
                     "Database disk utilization (%, iostat's %util; the "
                     "busiest disk across agents)",
                     "%",
                     {},
                     100},
                    "/host/disk/utilization", "/host/seconds", 100,
                    "busiest disk");
    per_agent_chart({"disk_await",
                     "Database disk await (ms per request, queueing "
                     "included: iostat's await)",
                     "ms",
                     {}},
                    "/host/disk/await_ms", "/host/seconds", 1, "busiest disk");
  }
  AddStabilityTrends(report, &charts);
  return charts;
}

// ---------------------------------------------------------------- tables

std::string Table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows,
                  const std::string& css_class = "") {
  std::string out = absl::StrCat("<table", css_class.empty() ? "" : " class=\"",
                                 css_class, css_class.empty() ? "" : "\"",
                                 "><thead><tr>");
  bool any_heading = false;
  for (const std::string& h : header) {
    absl::StrAppend(&out, "<th>", h, "</th>");
    any_heading = any_heading || !h.empty();
  }
  out += "</tr></thead><tbody>\n";
  if (!any_heading) out = absl::StrCat(out.substr(0, out.find("<thead>")), "<tbody>\n");
  for (const auto& row : rows) {
    out += "<tr>";
    for (const std::string& cell : row) absl::StrAppend(&out, "<td>", cell, "</td>");
    out += "</tr>\n";
  }
  out += "</tbody></table>\n";
  return out;
}

std::string Ms(const json& figures, const char* kind, const char* q) {
  const json::json_pointer count(absl::StrCat("/", kind, "_latency_ms/count"));
  if (Number(figures, count) == 0) return "&ndash;";
  return Fixed(Number(figures, json::json_pointer(
                                   absl::StrCat("/", kind, "_latency_ms/", q))),
               2);
}

std::vector<std::string> FigureCells(const json& f) {
  using P = json::json_pointer;
  const double errors = Number(f, P("/write_errors")) +
                        Number(f, P("/write_timeouts")) +
                        Number(f, P("/queue_full_errors")) +
                        Number(f, P("/read_errors"));
  return {Fixed(Number(f, P("/writes_ok")), 0),
          Fixed(Number(f, P("/writes_per_s")), 0),
          Ms(f, "write", "p50"),
          Ms(f, "write", "p95"),
          Ms(f, "write", "p99"),
          Ms(f, "write", "max"),
          Fixed(Number(f, P("/reads_per_s")), 0),
          Ms(f, "read", "p50"),
          Ms(f, "read", "p95"),
          Ms(f, "read", "p99"),
          Fixed(errors, 0),
          Fixed(100 * Number(f, P("/error_rate")), 2),
          Fixed(100 * Number(f, P("/queue_utilization")), 1)};
}

const std::vector<std::string>& FigureHeader() {
  static const auto* header = new std::vector<std::string>{
      "writes", "writes/s", "write p50 ms", "write p95 ms", "write p99 ms",
      "write max ms", "reads/s", "read p50 ms", "read p95 ms", "read p99 ms",
      "errors", "error rate %", "peak queue %"};
  return *header;
}

constexpr char kStyle[] = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;margin:24px auto;max-width:1100px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.verdict{display:inline-block;padding:4px 12px;border-radius:4px;font-weight:600;color:#fff}
.verdict.pass{background:#2e7d32}.verdict.fail{background:#c62828}.verdict.partial{background:#ef6c00}
table{border-collapse:collapse;margin:6px 0;font-variant-numeric:tabular-nums}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f5f5f5}
td:first-child,th:first-child{text-align:left}
table.kv td{text-align:left}
tr.total td{font-weight:600;background:#fafafa}
.ok{color:#2e7d32;font-weight:600}.bad{color:#c62828;font-weight:600}
.charts{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0;border:1px solid #e5e5e5;border-radius:4px;padding:8px;flex:1 1 480px;min-width:0}
svg.chart,svg.band{display:block;width:100%;height:auto}
svg.band text{font:12px sans-serif;fill:#333}
figcaption{font-weight:600;margin-bottom:4px}
svg.chart .grid{stroke:#eee}svg.chart .axis{stroke:#999}
svg.chart text{font:11px sans-serif;fill:#555}svg.chart .label{font-size:12px;fill:#333}
ul.legend{list-style:none;margin:4px 0 0;padding:0;display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px}
.swatch{display:inline-block;width:18px;border-top:3px solid;margin-right:5px;vertical-align:middle}
.swatch.dashed{border-top-style:dashed}
.note{color:#666;font-size:12px}
)";

// A page's opening up to its verdict: the head with the shared style, the
// title as heading, the verdict (HTML, escaped by the caller) in its class
// (pass, partial, fail).
std::string PageTop(const std::string& title, const std::string& verdict_html,
                    const std::string& verdict_class) {
  return absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>", title, "</title>\n<style>", kStyle, "</style>\n</head>\n<body>\n"
      "<h1>", title, "</h1>\n<p><span class=\"verdict ", verdict_class,
      "\" id=\"verdict\">", verdict_html, "</span></p>\n");
}

// The health state of every interval (of the total) as a band of coloured
// spans on the charts' time axis, under the charts.
std::string HealthBand(const json& report) {
  const json& rows = ChartRows(report);
  if (rows.empty()) return "";
  struct Look {
    const char* state;
    const char* label;
    const char* color;
  };
  constexpr Look kLooks[] = {{"healthy", "healthy", "#2e7d32"},
                             {"under_stress", "under stress", "#ef6c00"},
                             {"overloaded", "overloaded", "#c62828"},
                             {"generator_bound", "generator-bound", "#9e9e9e"}};
  constexpr double kHeight = 34;
  double x0 = rows.front().value("start_s", 0.0), x1 = x0;
  for (const json& row : rows) x1 = std::max(x1, row.value("end_s", 0.0));
  if (!(x1 > x0)) x1 = x0 + 1;
  auto x = [&](double s) {
    return kLeft + (kWidth - kLeft - kRight) * (s - x0) / (x1 - x0);
  };
  std::string svg = absl::StrFormat(
      "<svg class=\"band\" data-band=\"health\" "
      "xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" "
      "role=\"img\" aria-label=\"health state over time\">\n",
      kWidth, kHeight);
  absl::StrAppendFormat(&svg,
                        "<text class=\"label\" x=\"4\" y=\"16\">state</text>\n");
  for (const json& row : rows) {
    const json::json_pointer pointer("/total/health/state");
    const std::string state = row.contains(pointer) && row.at(pointer).is_string()
                                  ? row.at(pointer).get<std::string>()
                                  : "";
    const Look* look = nullptr;
    for (const Look& l : kLooks) {
      if (state == l.state) look = &l;
    }
    if (look == nullptr) continue;
    const double a = x(row.value("start_s", 0.0)), b = x(row.value("end_s", 0.0));
    absl::StrAppendFormat(
        &svg,
        "<rect data-state=\"%s\" x=\"%.1f\" y=\"4\" width=\"%.1f\" "
        "height=\"18\" fill=\"%s\"><title>%.1f-%.1fs: %s</title></rect>\n",
        look->state, a, std::max(0.5, b - a), look->color,
        row.value("start_s", 0.0), row.value("end_s", 0.0), look->label);
  }
  svg += "</svg>\n";
  std::string legend = "<ul class=\"legend\">";
  for (const Look& l : kLooks) {
    absl::StrAppendFormat(&legend,
                          "<li><span class=\"swatch\" style=\"border-color:%s\">"
                          "</span>%s</li>",
                          l.color, l.label);
  }
  legend += "</ul>\n";
  return absl::StrCat(
      "<figure class=\"health\"><figcaption>Health (the guide's key "
      "indicators), each interval of the total</figcaption>\n",
      svg, legend, "</figure>\n");
}

// The summary's health counts and the diagnosis's findings.
std::string DiagnosisSection(const json& summary) {
  std::string html = "<h2>Health and diagnosis</h2>\n";
  if (summary.contains("health")) {
    std::vector<std::vector<std::string>> rows;
    auto tally_row = [](const std::string& name, const json& tally) {
      std::vector<std::string> cells = {Escape(name)};
      for (const char* state :
           {"healthy", "under_stress", "overloaded", "generator_bound"}) {
        const json t = tally.value(state, json::object());
        cells.push_back(absl::StrFormat("%d (%.1fs)", t.value("intervals", 0),
                                        t.value("seconds", 0.0)));
      }
      return cells;
    };
    for (const json& a : summary.value("agents", json::array())) {
      if (a.contains("health")) {
        rows.push_back(tally_row(Text(a.value("agent_id", json())), a.at("health")));
      }
    }
    rows.push_back(tally_row("TOTAL", summary.at("health")));
    html += Table({"intervals", "healthy", "under stress", "overloaded",
                   "generator-bound"},
                  rows);
  }
  const json findings = summary.value("diagnosis", json::array());
  if (findings.empty()) {
    html += "<p class=\"ok\" data-diagnosis=\"none\">No finding.</p>\n";
    return html;
  }
  html += "<ol class=\"diagnosis\">\n";
  for (const json& f : findings) {
    std::string agents;
    for (const json& a : f.value("agents", json::array())) {
      absl::StrAppend(&agents, agents.empty() ? "" : ", ", Text(a));
    }
    std::string advice;
    for (const json& a : f.value("advice", json::array())) {
      absl::StrAppend(&advice, "<li><code>", Text(a), "</code></li>");
    }
    absl::StrAppendFormat(
        &html,
        "<li data-finding=\"%s\"><b>%s</b> (%s; intervals %d-%d, "
        "%.1f-%.1fs)<br>cause: %s<br>evidence: %s<br>try:<ul>%s</ul>%s</li>\n",
        Text(f.value("id", json())), Text(f.value("symptom", json())), agents,
        f.value("first_interval", 0), f.value("last_interval", 0),
        f.value("first_s", 0.0), f.value("last_s", 0.0),
        Text(f.value("cause", json())), Text(f.value("evidence", json())),
        advice,
        f.value("guide", std::string()).empty()
            ? ""
            : absl::StrCat("guide: ", Text(f.value("guide", json()))));
  }
  html += "</ol>\n";
  return html;
}

}  // namespace

std::string HtmlReport(const json& report) {
  const json empty_object = json::object();
  const json& summary = report.contains("summary") ? report.at("summary") : empty_object;
  const json& run = report.contains("run") ? report.at("run") : empty_object;
  const json& audit = report.contains("audit") ? report.at("audit") : empty_object;
  const json& tool = report.contains("tool") ? report.at("tool") : empty_object;

  bool thresholds_held = true;
  for (const json& t : summary.value("thresholds", json::array())) {
    thresholds_held = thresholds_held && t.value("passed", false);
  }
  const bool partial = summary.value("partial", false);
  const bool aborted = report.contains("aborted");
  const bool audit_passed = audit.value("passed", false);
  std::string verdict, verdict_class;
  if (partial) {
    verdict = "PARTIAL: an agent was lost";
    verdict_class = "partial";
  } else if (aborted) {
    verdict = "ABORTED: a threshold failed";
    verdict_class = "fail";
  } else if (!audit_passed) {
    verdict = "FAILED: durability audit";
    verdict_class = "fail";
  } else if (!thresholds_held) {
    verdict = "FAILED: a threshold";
    verdict_class = "fail";
  } else {
    verdict = "PASSED";
    verdict_class = "pass";
  }

  const std::string title = absl::StrCat(
      "OpenTrail Load report", run.contains("run_id") ? " " : "",
      run.contains("run_id") ? Text(run.at("run_id")) : "");
  std::string html = PageTop(title, verdict, verdict_class);
  if (aborted) {
    const json& a = report.at("aborted");
    absl::StrAppend(&html, "<p class=\"bad\">Stopped by --abort-on-fail at ",
                    Fixed(a.value("at_s", 0.0), 1), " s: threshold ",
                    Text(a.value("threshold", json(""))), " (", Text(a.value("scope", json(""))),
                    ") measured ", Text(a.value("measured", json(0))), "</p>\n");
  }

  // Validity: the figures may describe the load generator, or a starved
  // WAL, rather than the store's speed.
  for (const json& warning : summary.value("warnings", json::array())) {
    absl::StrAppend(&html, "<p class=\"bad\" data-warning>Warning: ",
                    Text(warning), "</p>\n");
  }

  // Manifest.
  std::vector<std::vector<std::string>> manifest = {
      {"tool", absl::StrCat(Text(tool.value("name", json("loadtest"))), " ",
                            Text(tool.value("version", json(""))))},
      {"mode", Text(run.value("mode", json("")))},
      {"started (UTC)", Text(run.value("started_at", json("")))},
      {"ended (UTC)", Text(run.value("ended_at", json("")))},
      {"measured span", absl::StrCat(Fixed(summary.value("seconds", 0.0), 1), " s")},
  };
  html += "<h2>Run</h2>\n";
  html += Table({"", ""}, manifest, "kv");
  // Summary.
  std::vector<std::string> header = {"agent"};
  const auto& figure_header = FigureHeader();
  header.insert(header.end(), figure_header.begin(), figure_header.end());
  header.push_back("audit");
  std::vector<std::vector<std::string>> rows;
  for (const json& a : summary.value("agents", json::array())) {
    std::vector<std::string> row = {Text(a.value("agent_id", json("")))};
    const auto cells = FigureCells(a);
    row.insert(row.end(), cells.begin(), cells.end());
    std::string state;
    if (a.value("lost", false)) {
      state = absl::StrCat("<span class=\"bad\">LOST</span>: ",
                           Text(a.value("lost_reason", json(""))));
    } else if (!a.contains("audit")) {
      state = "not audited";
    } else if (a.at("audit").value("passed", false)) {
      state = "<span class=\"ok\">passed</span>";
    } else {
      state = "<span class=\"bad\">FAILED</span>";
    }
    row.push_back(state);
    rows.push_back(std::move(row));
  }
  {
    std::vector<std::string> row = {"TOTAL"};
    const auto cells = FigureCells(summary.value("total", json::object()));
    row.insert(row.end(), cells.begin(), cells.end());
    row.push_back(audit_passed ? "<span class=\"ok\">passed</span>"
                               : "<span class=\"bad\">FAILED</span>");
    rows.push_back(std::move(row));
  }
  std::string table = Table(header, rows);
  // Mark the last row (TOTAL).
  const size_t last_tr = table.rfind("<tr>");
  if (last_tr != std::string::npos) table.replace(last_tr, 4, "<tr class=\"total\">");
  html += "<h2>Summary</h2>\n" + table;
  html +=
      "<p class=\"note\">Total percentiles come from the latency histograms "
      "merged across agents, not from averages of percentiles.</p>\n";

  // Thresholds and targets.
  std::vector<std::vector<std::string>> thresholds;
  for (const json& t : summary.value("thresholds", json::array())) {
    const std::string unit = t.value("unit", "");
    const double measured = t.value("measured", 0.0);
    thresholds.push_back(
        {Text(t.value("threshold", json(""))), Text(t.value("scope", json(""))),
         absl::StrCat(Fixed(unit == "%" ? 100 * measured : measured, 2), " ",
                      Escape(unit)),
         t.value("passed", false) ? "<span class=\"ok\">passed</span>"
                                  : "<span class=\"bad\">FAILED</span>"});
  }
  html += "<h2>Thresholds</h2>\n";
  html += thresholds.empty()
              ? std::string("<p class=\"note\">None given (--threshold).</p>\n")
              : Table({"threshold", "scope", "measured", "result"}, thresholds);
  // Charts.
  std::vector<double> starts, ends;
  const std::vector<Chart> charts = Charts(report, &starts, &ends);
  const int64_t per_point =
      report.contains("chart")
          ? report.at("chart").value("intervals_per_point", int64_t{1})
          : 1;
  if (per_point > 1) {
    absl::StrAppend(
        &html, "<h2>Over time</h2>\n<p class=\"note\">", starts.size(),
        " points of ", per_point,
        " intervals each (rates averaged, latencies and queue the highest, "
        "errors added); each line holds a point's value from its start to "
        "its end.</p>\n<div class=\"charts\">\n");
  } else {
    absl::StrAppend(&html, "<h2>Over time</h2>\n<p class=\"note\">",
                    starts.size(),
                    " intervals; each line holds an interval's value from its "
                    "start to its end.</p>\n<div class=\"charts\">\n");
  }
  for (const Chart& c : charts) html += SvgChart(c, starts, ends);
  html += "</div>\n";
  html += HealthBand(report);
  html += DiagnosisSection(summary);
  // The scenario's expectation first: what the guide expects of this
  // command, then the general targets every run is held to.
  if (summary.contains("scenario") && summary.at("scenario").is_object()) {
    const json& sc = summary.at("scenario");
    const std::string verdict = sc.value("verdict", std::string());
    const char* css = verdict == "below" || verdict == "unstable" ? "bad"
                      : verdict == "not_judged" ? "note"
                                                : "ok";
    std::string differs;
    for (const json& d : sc.value("differs_from_guide", json::array())) {
      absl::StrAppend(&differs, differs.empty() ? "" : ", ", Text(d));
    }
    html += "<h2>Load-testing guide scenario</h2>\n" +
            Table({"scenario", "guide section", "expectation", "measured",
                   "verdict", "differs from the guide's command"},
                  {{Text(sc.value("name", json(""))),
                    Text(sc.value("section", json(""))),
                    Text(sc.value("expectation", json(""))),
                    absl::StrCat(Fixed(sc.value("measured", 0.0), 0),
                                 " writes/s"),
                    absl::StrCat("<span class=\"", css,
                                 "\" data-verdict=\"", Escape(verdict), "\">",
                                 Text(sc.value("verdict_text", json(""))),
                                 "</span>"),
                    differs.empty() ? "-" : differs}});
  }
  html += StabilityHtml(summary);
  std::vector<std::vector<std::string>> targets;
  for (const json& t : summary.value("guide_targets", json::array())) {
    targets.push_back({Text(t.value("name", json(""))), Text(t.value("target", json(""))),
                       absl::StrCat(Fixed(t.value("value", 0.0), 2), " ",
                                    Text(t.value("unit", json("")))),
                       t.value("met", false) ? "<span class=\"ok\">met</span>"
                                             : "<span class=\"bad\">not met</span>"});
  }
  html += "<h2>Load-testing guide targets</h2>\n" +
          Table({"target", "goal", "measured", "result"}, targets);

  // Audit.
  std::vector<std::vector<std::string>> audit_rows;
  for (const char* key : {"rows_in_db", "acknowledged", "late_commits", "lost",
                          "unexplained", "integrity_ok", "integrity_message",
                          "error", "passed"}) {
    if (audit.contains(key)) audit_rows.push_back({key, Text(audit.at(key))});
  }
  html += "<h2>Durability audit</h2>\n";
  html +=
      "<p class=\"note\">Rows added to each database must equal the writes "
      "it acknowledged plus those that committed after their timeout; summed "
      "over the agents audited.</p>\n";
  html += Table({"", ""}, audit_rows, "kv");

  std::vector<std::vector<std::string>> parameters;
  const json parameter_values = report.value("parameters", json::object());
  for (const auto& [key, value] : parameter_values.items()) {
    parameters.push_back({Escape(key), Text(value)});
  }
  html += "<h2>Parameters</h2>\n" + Table({"parameter", "value"}, parameters, "kv");
  if (report.contains("agents") && report.at("agents").is_array()) {
    std::vector<std::vector<std::string>> agents;
    for (const json& a : report.at("agents")) {
      agents.push_back({Text(a.value("agent_id", json(""))), Text(a.value("target", json(""))),
                        Text(a.value("version", json(""))),
                        Text(a.value("hostname", json("")))});
    }
    html += "<h2>Agents</h2>\n" +
            Table({"agent", "address", "version", "host"}, agents, "kv");
  }

  html += "</body>\n</html>\n";
  return html;
}

std::string FindMaxHtmlReport(const json& report) {
  const json empty_object = json::object();
  const json& find_max =
      report.contains("find_max") ? report.at("find_max") : empty_object;
  const json& run = report.contains("run") ? report.at("run") : empty_object;
  const json steps = find_max.value("steps", json::array());
  const json& max_rate = find_max.contains("max_rate") ? find_max.at("max_rate")
                                                        : json(nullptr);
  const std::string limited_by = find_max.value("limited_by", "");
  std::string verdict, verdict_class;
  if (max_rate.is_number()) {
    verdict = absl::StrFormat("max sustainable rate: %.0f writes/s",
                              max_rate.get<double>());
    verdict_class = limited_by == "generator" ? "partial" : "pass";
  } else {
    verdict = "no rate met every condition";
    verdict_class = "fail";
  }
  const std::string title = "OpenTrail Load find-max report";
  std::string html = PageTop(title, Escape(verdict), verdict_class);
  if (!find_max.value("limit_reason", "").empty()) {
    absl::StrAppend(&html, "<p id=\"limit\">Limited by ", Text(json(limited_by)),
                    ": ", Text(find_max.at("limit_reason")), "</p>\n");
  }
  if (limited_by == "generator") {
    absl::StrAppend(&html,
                    "<p class=\"bad\">The load generator, not the store, set "
                    "this limit: the store's own limit is higher.</p>\n");
  }
  std::vector<std::string> slos;
  for (const json& slo : find_max.value("slos", json::array())) {
    slos.push_back(Text(slo));
  }
  const json& options = find_max.contains("options") ? find_max.at("options")
                                                      : empty_object;
  absl::StrAppend(
      &html, "<p>SLOs: ", slos.empty() ? "none" : absl::StrJoin(slos, ", "),
      "; steps of ", Text(options.value("step_duration", json(""))),
      " after a ", Text(options.value("warmup", json(""))),
      " warm-up; seed ", Text(run.value("seed", json(""))),
      "; workload fingerprint ", Text(run.value("fingerprint", json(""))),
      "</p>\n");

  // Latency versus achieved throughput, one point per step.
  struct Point {
    double achieved, p50, p95, p99, offered;
    bool passed;
  };
  std::vector<Point> points;
  for (const json& step : steps) {
    using P = json::json_pointer;
    points.push_back({Number(step, P("/achieved_rate")),
                      Number(step, P("/write_latency_ms/p50")),
                      Number(step, P("/write_latency_ms/p95")),
                      Number(step, P("/write_latency_ms/p99")),
                      Number(step, P("/offered_rate")),
                      step.value("passed", false)});
  }
  std::sort(points.begin(), points.end(), [](const Point& a, const Point& b) {
    return a.offered < b.offered;
  });
  double max_x = 0, max_y = 0;
  for (const Point& p : points) {
    max_x = std::max({max_x, p.achieved, p.offered});
    max_y = std::max(max_y, p.p99);
  }
  const XyPlot plot(max_x, max_y);
  auto x = [&plot](double v) { return plot.X(v); };
  auto y = [&plot](double v) { return plot.Y(v); };
  std::string svg = plot.Open("find-max",
                              "write latency versus achieved write rate",
                              "achieved writes/s", "write latency (ms)");
  if (max_rate.is_number()) {
    const double mx = x(max_rate.get<double>());
    absl::StrAppendFormat(
        &svg,
        "<line class=\"max-rate\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" "
        "y2=\"%.1f\" stroke=\"#2e7d32\" stroke-dasharray=\"6 4\"/>\n",
        mx, mx, XyPlot::kTop, XyPlot::kTop + plot.height());
  }
  const struct {
    const char* name;
    double Point::*field;
    const char* color;
  } kLines[] = {{"p50", &Point::p50, kPalette[0]},
                {"p95", &Point::p95, kPalette[1]},
                {"p99", &Point::p99, kPalette[3]}};
  for (const auto& line : kLines) {
    std::string path;
    for (const Point& p : points) {
      absl::StrAppendFormat(&path, "%s%.1f,%.1f", path.empty() ? "M" : " L",
                            x(p.achieved), y(p.*line.field));
    }
    if (path.empty()) continue;
    absl::StrAppendFormat(&svg,
                          "<path class=\"series\" data-series=\"%s\" "
                          "fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                          "d=\"%s\"/>\n",
                          line.name, line.color, path);
  }
  for (const Point& p : points) {
    absl::StrAppendFormat(
        &svg,
        "<circle class=\"step\" data-offered=\"%.0f\" data-passed=\"%s\" "
        "cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"><title>offered %.0f/s, "
        "achieved %.0f/s, p99 %.2f ms: %s</title></circle>\n",
        p.offered, p.passed ? "yes" : "no", x(p.achieved), y(p.p99),
        p.passed ? "#2e7d32" : "#c62828", p.offered, p.achieved, p.p99,
        p.passed ? "ok" : "failed");
  }
  svg += "</svg>\n";
  std::string legend = "<ul class=\"legend\">";
  for (const auto& line : kLines) {
    absl::StrAppend(&legend, "<li><span class=\"swatch\" style=\"border-color:",
                    line.color, "\"></span>write ", line.name, "</li>");
  }
  legend += "</ul>\n";
  absl::StrAppend(
      &html,
      "<h2>Write latency versus throughput</h2>\n<div class=\"charts\"><figure>"
      "<figcaption>p50, p95 and p99 write latency at each step's achieved "
      "rate (points on p99, green: step passed, red: failed; dashed: the "
      "answer, an offered rate)</figcaption>\n",
      svg, legend, "</figure></div>\n");

  // The steps, in the order they ran.
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < steps.size(); ++i) {
    const json& step = steps[i];
    using P = json::json_pointer;
    const bool passed = step.value("passed", false);
    rows.push_back(
        {std::to_string(i + 1), Fixed(Number(step, P("/offered_rate")), 0),
         Fixed(Number(step, P("/achieved_rate")), 0),
         Fixed(Number(step, P("/write_latency_ms/p50")), 2),
         Fixed(Number(step, P("/write_latency_ms/p95")), 2),
         Fixed(Number(step, P("/write_latency_ms/p99")), 2),
         Fixed(Number(step, P("/errors")) + Number(step, P("/queue_full")) +
                   Number(step, P("/timeouts")),
               0),
         absl::StrCat("<span class=\"", passed ? "ok" : "bad", "\">",
                      passed ? "ok" : Text(step.value("verdict", json(""))),
                      "</span>"),
         Text(step.value("reason", json("")))});
  }
  absl::StrAppend(&html, "<h2>Steps</h2>\n",
                  Table({"step", "offered/s", "achieved/s", "p50 ms", "p95 ms",
                         "p99 ms", "errors", "verdict", "reason"},
                        rows, "steps"),
                  "</body>\n</html>\n");
  return html;
}

std::string TuneHtmlReport(const json& report) {
  using P = json::json_pointer;
  const json empty_object = json::object();
  const json& tune = report.contains("tune") ? report.at("tune") : empty_object;
  const json configs = tune.value("configs", json::array());
  const json best = tune.value("best", json::array());
  const bool max_rate = tune.value("objective", "max_rate") == "max_rate";
  std::string verdict = "no configuration gave a result";
  std::string verdict_class = "fail";
  if (!best.empty()) {
    verdict = absl::StrCat("best: ", best[0].value("config", ""), " ",
                           best[0].value("label", ""), " (sync=",
                           best[0].value("sync", ""), ")");
    verdict_class = tune.value("interrupted", false) ? "partial" : "pass";
  }
  const std::string title = "OpenTrail Load tune report";
  std::string html = PageTop(title, Escape(verdict), verdict_class);
  if (!tune.value("stopped_because", "").empty()) {
    absl::StrAppend(&html, "<p class=\"bad\">Stopped: ",
                    Text(tune.at("stopped_because")), "</p>\n");
  }
  if (!tune.value("left_out", json::array()).empty()) {
    std::vector<std::string> names;
    for (const json& n : tune.at("left_out")) names.push_back(Text(n));
    absl::StrAppend(&html, "<p>Runs left out: ", absl::StrJoin(names, ", "),
                    "</p>\n");
  }
  html += "<h2>Best per durability tier</h2>\n";
  for (const json& b : best) {
    std::vector<std::string> ties;
    for (const json& t : b.value("ties", json::array())) ties.push_back(Text(t));
    std::vector<std::string> flags;
    for (const json& f : b.value("flags", json::array())) flags.push_back(Text(f));
    absl::StrAppend(
        &html, "<p><b>sync=", Text(b.value("sync", json(""))), "</b> (survives ",
        Text(b.value("survives", json(""))), "): ",
        Text(b.value("config", json(""))), " ", Text(b.value("label", json(""))),
        "<br>flags: <code>", absl::StrJoin(flags, " "), "</code><br>ties: ",
        ties.empty() ? "none" : absl::StrJoin(ties, ", "), "<br>margin: ",
        Text(b.value("statement", json(""))), "</p>\n");
  }

  // Write p99 against the rate, one marker per configuration.
  struct Point {
    std::string name, label, verdict;
    double rate, p99;
  };
  std::vector<Point> points;
  for (const json& c : configs) {
    if (!c.contains(P("/rate/mean")) || !c.contains(P("/write_p99_ms/mean"))) {
      continue;
    }
    points.push_back({c.value("name", ""), c.value("flags", json::array()).dump(),
                      c.value("verdict", ""), Number(c, P("/rate/mean")),
                      Number(c, P("/write_p99_ms/mean"))});
  }
  double max_x = 0, max_y = 0;
  for (const Point& p : points) {
    max_x = std::max(max_x, p.rate);
    max_y = std::max(max_y, p.p99);
  }
  const XyPlot plot(max_x, max_y);
  auto x = [&plot](double v) { return plot.X(v); };
  auto y = [&plot](double v) { return plot.Y(v); };
  std::string svg = plot.Open(
      "tune", "write p99 versus write rate",
      max_rate ? "max sustainable writes/s" : "achieved writes/s",
      "write p99 (ms)");
  for (const Point& p : points) {
    const char* color = p.verdict == "best"  ? "#2e7d32"
                        : p.verdict == "tie" ? "#ef6c00"
                                             : "#757575";
    const double cx = x(p.rate), cy = y(p.p99);
    // A diamond: a marker the browser check sees as a drawn series.
    absl::StrAppendFormat(
        &svg,
        "<path class=\"series\" data-series=\"%s\" data-verdict=\"%s\" "
        "fill=\"%s\" stroke=\"%s\" d=\"M%.1f,%.1f L%.1f,%.1f L%.1f,%.1f "
        "L%.1f,%.1f Z\"><title>%s %s: %.0f writes/s, p99 %.2f ms, %s</title>"
        "</path><text class=\"label\" x=\"%.1f\" y=\"%.1f\">%s</text>\n",
        Escape(p.name), Escape(p.verdict), color, color, cx, cy - 6, cx + 6, cy,
        cx, cy + 6, cx - 6, cy, Escape(p.name), Escape(p.label), p.rate, p.p99,
        Escape(p.verdict), cx + 8, cy - 8, Escape(p.name));
  }
  svg += "</svg>\n";
  absl::StrAppend(
      &html,
      "<h2>Write p99 versus rate</h2>\n<div class=\"charts\"><figure>"
      "<figcaption>Each configuration's mean over its runs (green: best of "
      "its tier, orange: a tie, grey: worse or without a verdict)"
      "</figcaption>\n",
      svg, "</figure></div>\n");

  std::vector<std::vector<std::string>> rows;
  for (const json& c : configs) {
    std::vector<std::string> flags;
    for (const json& f : c.value("flags", json::array())) flags.push_back(Text(f));
    auto figure = [&c](const char* pointer, int digits) {
      return c.contains(P(pointer)) && c.at(P(pointer)).is_number()
                 ? Fixed(c.at(P(pointer)).get<double>(), digits)
                 : std::string("&ndash;");
    };
    rows.push_back(
        {Text(c.value("name", json(""))),
         flags.empty() ? std::string("defaults") : absl::StrJoin(flags, " "),
         Text(c.value("sync", json(""))),
         std::to_string(c.value("runs", json::array()).size()),
         figure("/rate/mean", 0), figure("/rate/min", 0), figure("/rate/max", 0),
         figure("/write_p99_ms/mean", 2), figure("/bytes_per_row", 0),
         Text(c.value("verdict", json("")))});
  }
  absl::StrAppend(&html, "<h2>Configurations</h2>\n",
                  Table({"config", "flags", "sync", "runs",
                         max_rate ? "max rate/s" : "writes/s", "min", "max",
                         "p99 ms", "bytes/row", "verdict"},
                        rows, "configs"),
                  "</body>\n</html>\n");
  return html;
}

}  // namespace loadtest::report
