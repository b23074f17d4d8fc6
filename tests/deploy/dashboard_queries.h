// The queries of the Grafana dashboard (deploy/grafana/dashboards/
// opentrail-load.json), read the way Grafana reads them, so a test can run
// each one through a real Prometheus: every target of every panel, with the
// row it sits in, and Grafana's variables expanded as Grafana would.
//
// Pure functions; safe from any thread.
#ifndef LOADTEST_TESTS_DEPLOY_DASHBOARD_QUERIES_H_
#define LOADTEST_TESTS_DEPLOY_DASHBOARD_QUERIES_H_

#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace loadtest::testing {

// One target (query) of one panel.
struct DashboardQuery {
  std::string panel;   // The panel's title.
  std::string row;     // The title of the row it sits in ("" if none).
  std::string ref_id;  // "A", "B", ...
  std::string expr;    // PromQL, variables not expanded.
  // The panel sits in a row repeated per value of the `agent` variable.
  bool per_agent = false;
};

// Every target of every panel, in dashboard order. Panels of an expanded
// row follow the row in `panels`; a collapsed row keeps them in its own
// `panels`; both are read.
std::vector<DashboardQuery> DashboardQueries(const nlohmann::json& dashboard);

// `expr` with the variables Grafana fills in replaced: `$agent` /
// `${agent}` by what Grafana sends for the given values of the multi-value
// `agent` variable (one value as is, several as `(a|b|c)`; regex
// metacharacters escaped), and `$__rate_interval` by `rate_interval`.
std::string ExpandDashboardVariables(const std::string& expr,
                                     const std::vector<std::string>& agents,
                                     const std::string& rate_interval);

// Every `datasource` object in the dashboard, wherever it appears.
std::vector<nlohmann::json> DashboardDatasources(
    const nlohmann::json& dashboard);

}  // namespace loadtest::testing

#endif  // LOADTEST_TESTS_DEPLOY_DASHBOARD_QUERIES_H_
