#include "tests/deploy/dashboard_queries.h"

#include <cstring>

namespace loadtest::testing {
namespace {

using nlohmann::json;

struct Row {
  std::string title;
  bool per_agent = false;
};

void AddPanelQueries(const json& panel, const Row& row,
                     std::vector<DashboardQuery>* out) {
  if (!panel.contains("targets")) return;
  for (const json& target : panel["targets"]) {
    DashboardQuery query;
    query.panel = panel.value("title", "");
    query.row = row.title;
    query.ref_id = target.value("refId", "");
    query.expr = target.value("expr", "");
    query.per_agent = row.per_agent;
    out->push_back(std::move(query));
  }
}

void ReplaceAll(std::string* text, const std::string& from,
                const std::string& to) {
  for (size_t at = text->find(from); at != std::string::npos;
       at = text->find(from, at + to.size())) {
    text->replace(at, from.size(), to);
  }
}

// What Grafana's Prometheus data source does to one value of a multi-value
// variable used in a regex matcher: each metacharacter gets a backslash,
// itself escaped for the PromQL string.
std::string RegexEscape(const std::string& value) {
  std::string out;
  for (const char c : value) {
    if (std::strchr("\\^$*+?.()|{}[]'", c) != nullptr) out += "\\\\";
    out += c;
  }
  return out;
}

void CollectDatasources(const json& node, std::vector<json>* out) {
  if (node.is_object()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (it.key() == "datasource") out->push_back(it.value());
      CollectDatasources(it.value(), out);
    }
  } else if (node.is_array()) {
    for (const json& element : node) CollectDatasources(element, out);
  }
}

}  // namespace

std::vector<DashboardQuery> DashboardQueries(const json& dashboard) {
  std::vector<DashboardQuery> queries;
  Row row;
  for (const json& panel : dashboard.value("panels", json::array())) {
    if (panel.value("type", "") == "row") {
      row.title = panel.value("title", "");
      row.per_agent = panel.value("repeat", "") == "agent";
      for (const json& inner : panel.value("panels", json::array())) {
        AddPanelQueries(inner, row, &queries);
      }
      continue;
    }
    AddPanelQueries(panel, row, &queries);
  }
  return queries;
}

std::string ExpandDashboardVariables(const std::string& expr,
                                     const std::vector<std::string>& agents,
                                     const std::string& rate_interval) {
  std::string agent_value;
  if (agents.size() == 1) {
    agent_value = RegexEscape(agents.front());
  } else {
    agent_value = "(";
    for (size_t i = 0; i < agents.size(); ++i) {
      if (i > 0) agent_value += "|";
      agent_value += RegexEscape(agents[i]);
    }
    agent_value += ")";
  }
  std::string out = expr;
  ReplaceAll(&out, "$__rate_interval", rate_interval);
  ReplaceAll(&out, "${agent}", agent_value);
  ReplaceAll(&out, "$agent", agent_value);
  return out;
}

std::vector<json> DashboardDatasources(const json& dashboard) {
  std::vector<json> out;
  CollectDatasources(dashboard, &out);
  return out;
}

}  // namespace loadtest::testing
