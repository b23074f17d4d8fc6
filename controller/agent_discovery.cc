#include "controller/agent_discovery.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace loadtest::controller {
namespace {

constexpr char kDnsPrefix[] = "dns:///";
constexpr char kForms[] = "host:port, [ipv6]:port or dns:///name:port";

absl::Status EntryError(absl::string_view entry, absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("--agents entry \"", entry, "\": ", problem));
}

bool IsIpv6Literal(absl::string_view host) {
  // A zone (`fe80::1%eth0`) is allowed after the address.
  const std::string address(host.substr(0, host.find('%')));
  in6_addr parsed;
  return inet_pton(AF_INET6, address.c_str(), &parsed) == 1;
}

bool IsHostName(absl::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (char c : host) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' &&
        c != '.' && c != '_') {
      return false;
    }
  }
  return true;
}

// Parses `host:port` / `[v6]:port` (the part after dns:/// too).
absl::StatusOr<AgentEntry> ParseHostPort(absl::string_view entry,
                                         absl::string_view text) {
  AgentEntry out;
  absl::string_view port_text;
  if (absl::StartsWith(text, "[")) {
    const size_t close = text.find(']');
    if (close == absl::string_view::npos) {
      return EntryError(entry, "missing ']' after the IPv6 address");
    }
    out.host = std::string(text.substr(1, close - 1));
    if (!IsIpv6Literal(out.host)) {
      return EntryError(entry, absl::StrCat("\"", out.host,
                                            "\" is not an IPv6 address"));
    }
    absl::string_view rest = text.substr(close + 1);
    if (rest.empty()) {
      return EntryError(entry, absl::StrCat("missing port (use ", kForms, ")"));
    }
    if (rest[0] != ':') {
      return EntryError(entry, "expected ':port' after ']'");
    }
    port_text = rest.substr(1);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == absl::string_view::npos) {
      return EntryError(entry, absl::StrCat("missing port (use ", kForms, ")"));
    }
    out.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
    if (out.host.find(':') != std::string::npos) {
      return EntryError(
          entry, "an IPv6 address needs brackets, e.g. [::1]:7070");
    }
    if (out.host.empty()) return EntryError(entry, "missing host");
    if (!IsHostName(out.host)) {
      return EntryError(entry,
                        absl::StrCat("\"", out.host, "\" is not a host name"));
    }
  }
  if (port_text.empty()) {
    return EntryError(entry, absl::StrCat("missing port (use ", kForms, ")"));
  }
  int port = 0;
  const bool digits = std::all_of(port_text.begin(), port_text.end(), [](char c) {
    return absl::ascii_isdigit(static_cast<unsigned char>(c));
  });
  if (!digits || port_text.size() > 5 || !absl::SimpleAtoi(port_text, &port) ||
      port < 1 || port > 65535) {
    return EntryError(entry, absl::StrCat("port must be between 1 and 65535, "
                                          "got \"", port_text, "\""));
  }
  out.port = port;
  out.text = std::string(entry);
  return out;
}

// Every address of `entry.host`, as numeric targets.
absl::StatusOr<std::vector<std::string>> Resolve(const AgentEntry& entry) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  // AI_ADDRCONFIG leaves out AAAA records on hosts without IPv6 (and A
  // records without IPv4), which no channel could reach anyway. On a host
  // with loopback only it yields nothing at all, so retry without it.
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* list = nullptr;
  int rc = getaddrinfo(entry.host.c_str(), nullptr, &hints, &list);
  if (rc != 0) {
    hints.ai_flags = 0;
    rc = getaddrinfo(entry.host.c_str(), nullptr, &hints, &list);
  }
  if (rc != 0) {
    return absl::UnavailableError(
        absl::StrCat("--agents entry \"", entry.text, "\": cannot resolve \"",
                     entry.host, "\": ", gai_strerror(rc)));
  }
  std::vector<std::string> targets;
  for (const addrinfo* a = list; a != nullptr; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    if (a->ai_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(a->ai_addr);
      if (inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text)) == nullptr) {
        continue;
      }
      targets.push_back(FormatTarget(text, entry.port));
    } else if (a->ai_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a->ai_addr);
      if (inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text)) == nullptr) {
        continue;
      }
      std::string host = text;
      char interface[IF_NAMESIZE] = {};
      if (in6->sin6_scope_id != 0 &&
          if_indextoname(in6->sin6_scope_id, interface) != nullptr) {
        absl::StrAppend(&host, "%", interface);
      }
      targets.push_back(FormatTarget(host, entry.port));
    }
  }
  freeaddrinfo(list);
  if (targets.empty()) {
    return absl::UnavailableError(absl::StrCat(
        "--agents entry \"", entry.text, "\": \"", entry.host,
        "\" resolves to no IPv4 or IPv6 address"));
  }
  return targets;
}

}  // namespace

std::string FormatTarget(const std::string& host, int port) {
  if (host.find(':') == std::string::npos) return absl::StrCat(host, ":", port);
  // gRPC reads targets as URIs: a zone's '%' must be escaped.
  std::string escaped;
  for (char c : host) {
    if (c == '%') {
      escaped += "%25";
    } else {
      escaped += c;
    }
  }
  return absl::StrCat("[", escaped, "]:", port);
}

absl::StatusOr<std::vector<AgentEntry>> ParseAgentEntries(
    absl::string_view agents_flag) {
  const absl::string_view flag = absl::StripAsciiWhitespace(agents_flag);
  if (flag.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--agents must name at least one agent (", kForms, ")"));
  }
  std::vector<AgentEntry> entries;
  for (absl::string_view raw : absl::StrSplit(flag, ',')) {
    const absl::string_view entry = absl::StripAsciiWhitespace(raw);
    if (entry.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--agents \"", flag, "\" has an empty entry (stray comma?)"));
    }
    if (absl::StartsWithIgnoreCase(entry, "dns:")) {
      if (!absl::StartsWithIgnoreCase(entry, kDnsPrefix)) {
        return EntryError(entry,
                          "use dns:///name:port (three slashes; a DNS server "
                          "authority is not supported)");
      }
      auto parsed =
          ParseHostPort(entry, entry.substr(sizeof(kDnsPrefix) - 1));
      if (!parsed.ok()) return parsed.status();
      parsed->dns = true;
      entries.push_back(*std::move(parsed));
      continue;
    }
    if (absl::StrContains(entry, "://") || absl::StrContains(entry, "/")) {
      return EntryError(entry, absl::StrCat("expected ", kForms));
    }
    auto parsed = ParseHostPort(entry, entry);
    if (!parsed.ok()) return parsed.status();
    entries.push_back(*std::move(parsed));
  }
  return entries;
}

absl::StatusOr<std::vector<std::string>> ResolveAgentTargets(
    absl::string_view agents_flag) {
  auto entries = ParseAgentEntries(agents_flag);
  if (!entries.ok()) return entries.status();
  std::vector<std::string> targets;
  std::set<std::string> seen;
  auto add = [&](std::string target) {
    if (seen.insert(target).second) targets.push_back(std::move(target));
  };
  for (const AgentEntry& entry : *entries) {
    if (!entry.dns) {
      add(FormatTarget(entry.host, entry.port));
      continue;
    }
    auto resolved = Resolve(entry);
    if (!resolved.ok()) return resolved.status();
    for (std::string& target : *resolved) add(std::move(target));
  }
  return targets;
}

}  // namespace loadtest::controller
