#include "agent/realistic_generator.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "agent/log_generator.h"

namespace loadtest::agent {
namespace {

uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// A small fast generator (SplitMix64): mt19937_64 and the standard
// distributions cost more than the whole row.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Bits() { return Mix(state_ += 0x9e3779b97f4a7c15ULL); }
  uint64_t Below(uint64_t n) { return Bits() % n; }
  double Unit() { return static_cast<double>(Bits() >> 11) * 0x1.0p-53; }
  bool Chance(double p) { return Unit() < p; }
  // Log-uniform in [1, max]: durations and sizes spread over decades.
  uint64_t LogUniform(double max) {
    return static_cast<uint64_t>(std::exp(Unit() * std::log(max)));
  }

 private:
  uint64_t state_;
};

// A pool of `size` values drawn with Zipf-like skew: rank k (0-based) with
// probability about 1 / ((k + 1) ln(size + 1)) (the floor of a log-uniform
// draw). The value of a rank is a fixed function of the rank and the
// pool's salt, the same in every writer and agent.
struct Pool {
  Pool(uint64_t n, uint64_t pool_salt)
      : size(n), log_size(std::log(static_cast<double>(n) + 1)), salt(pool_salt) {}
  // A rank and its hash (what the value is made from).
  uint64_t Draw(Rng& rng) const {
    const auto rank = static_cast<uint64_t>(std::exp(rng.Unit() * log_size)) - 1;
    return Mix(std::min(rank, size - 1) + salt);
  }
  uint64_t size;
  double log_size;
  uint64_t salt;
};

template <size_t N>
const char* Skewed(const char* const (&items)[N], Rng& rng) {
  static const Pool pool(N, 0);
  return items[std::min<uint64_t>(N - 1, static_cast<uint64_t>(std::exp(
                                              rng.Unit() * pool.log_size)) -
                                              1)];
}

template <size_t N>
const char* Hashed(const char* const (&items)[N], uint64_t hash) {
  return items[hash % N];
}

const Pool kClients(2000000, 0x11);
const Pool kUsers(200000, 0x22);
const Pool kIds(1000000, 0x33);
const Pool kWebHosts(300, 0x44);
const Pool kDbHosts(24, 0x55);
const Pool kNodes(500, 0x66);
const Pool kUids(60000, 0x77);
const Pool kSessions(5000000, 0x88);

constexpr const char* kCommonUsers[] = {
    "root",  "admin",   "ubuntu", "deploy", "git",      "postgres", "test",
    "user",  "oracle",  "ftp",    "pi",     "jenkins",  "support",  "guest",
    "mysql", "ansible", "debian", "backup", "www-data", "nagios"};
constexpr const char* kFirstNames[] = {
    "alice", "bob",   "carol", "dave",  "erin",  "frank", "grace", "heidi",
    "ivan",  "judy",  "mallory", "niaj", "olivia", "peggy", "rupert", "sybil",
    "trent", "victor", "walter", "yusuf", "zoe",  "maria", "li",    "omar",
    "sofia", "lucas", "emma",  "noah",  "mia",   "leon",  "anna",  "jonas"};
constexpr const char* kRoutes[] = {
    "/api/v1/users/",   "/api/v1/orders/",  "/api/v2/items/",
    "/static/img/",     "/api/v1/carts/",   "/products/",
    "/api/v1/sessions/", "/api/v2/search/", "/account/invoices/",
    "/api/v1/payments/", "/assets/js/app.", "/blog/posts/",
    "/api/v1/reviews/", "/media/uploads/",  "/api/internal/jobs/",
    "/health/",         "/api/v1/notifications/", "/download/"};
constexpr const char* kMethods[] = {"GET", "GET", "GET", "GET", "POST",
                                    "GET", "PUT", "DELETE", "HEAD", "PATCH"};
constexpr const char* kAgents[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) Safari/605.1.15",
    "curl/8.4.0",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Firefox/121.0",
    "kube-probe/1.28",
    "Go-http-client/1.1",
    "python-requests/2.31.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1) Mobile/15E148",
    "Googlebot/2.1 (+http://www.google.com/bot.html)",
    "okhttp/4.12.0",
    "Prometheus/2.48.0"};
constexpr const char* kUnits[] = {
    "nginx",       "docker",         "containerd",   "ssh",
    "cron",        "systemd-journald", "systemd-logind", "postgresql@15-main",
    "redis-server", "kubelet",       "apt-daily",    "apt-daily-upgrade",
    "logrotate",   "man-db",         "fstrim",       "certbot",
    "unattended-upgrades", "rsyslog", "node-exporter", "prometheus",
    "grafana-server", "haproxy",     "chrony",       "snapd",
    "fwupd-refresh", "e2scrub_all",  "motd-news",    "dpkg-db-backup"};
constexpr const char* kServices[] = {
    "checkout-api", "billing-worker", "search-svc", "auth-gateway",
    "inventory",    "notifier",       "cart-api",   "recommender",
    "media-proc",   "orders-api",     "ledger",     "shipping",
    "profile-svc",  "reports-cron",   "ratelimiter", "graphql-edge"};
constexpr const char* kModules[] = {
    "http.server", "db.pool",  "cache.redis", "queue.consumer", "auth.jwt",
    "payments",    "scheduler", "grpc.client", "http.client",   "metrics"};
constexpr const char* kEvents[] = {
    "request completed",       "request started",
    "cache miss",              "cache hit",
    "token refreshed",         "payment authorized",
    "retrying upstream call",  "upstream timeout",
    "order created",           "message acknowledged",
    "connection pool exhausted", "rate limit exceeded",
    "user signed in",          "validation failed",
    "job finished",            "deadline exceeded",
    "circuit breaker opened",  "slow query",
    "webhook delivered",       "invoice generated"};
constexpr const char* kLevels[] = {"info", "info", "info", "info", "info",
                                   "info", "debug", "warn", "warn", "error"};
constexpr const char* kTables[] = {
    "orders",   "users",     "order_items", "payments", "sessions",
    "products", "invoices",  "events",      "carts",    "audit_log",
    "shipments", "reviews",  "inventory",   "coupons",  "notifications"};
constexpr const char* kColumns[] = {"id",         "user_id", "order_id",
                                    "customer_id", "session_id", "sku"};
constexpr const char* kStates[] = {"pending", "paid", "shipped", "cancelled",
                                   "refunded", "active"};
constexpr const char* kProcs[] = {"java", "python3", "node", "postgres",
                                  "chrome", "dockerd", "mysqld", "ruby"};
constexpr const char* kIfaces[] = {"eth0", "eth1", "ens3", "enp0s31f6",
                                   "bond0", "veth4a1c2"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void AppendHex(std::string* out, uint64_t value, int digits) {
  constexpr char kHex[] = "0123456789abcdef";
  char buffer[16];
  for (int i = digits - 1; i >= 0; --i) {
    buffer[i] = kHex[value & 15];
    value >>= 4;
  }
  out->append(buffer, digits);
}

void AppendIp(std::string* out, uint64_t h) {
  if (h % 10 == 0) {  // One client in ten over IPv6.
    out->append("2a02:");
    AppendHex(out, (h >> 8) & 0xfff, 3);
    out->append(":");
    AppendHex(out, (h >> 20) & 0xffff, 4);
    out->append("::");
    AppendHex(out, (h >> 36) & 0xffff, 4);
    return;
  }
  absl::StrAppend(out, 1 + (h >> 8) % 223, ".", (h >> 16) & 255, ".",
                  (h >> 24) & 255, ".", 1 + (h >> 32) % 254);
}

void AppendUser(std::string* out, uint64_t h) {
  if (h % 3 == 0) {  // A third of the mass on the usual suspects.
    out->append(Hashed(kCommonUsers, h >> 8));
    return;
  }
  absl::StrAppend(out, Hashed(kFirstNames, h >> 8), (h >> 16) % 10000);
}

void AppendHost(std::string* out, const char* prefix, uint64_t h) {
  absl::StrAppend(out, prefix, h % 1000);
}

// The parts of a row every family fills.
struct Columns {
  int facility;
  int severity;
};

void Finish(storage::LogEntry* e, Columns c) {
  e->facility = c.facility;
  e->severity = c.severity;
  e->priority = c.facility * 8 + c.severity;
  e->version = 1;
}

int Port(Rng& rng) { return 32768 + static_cast<int>(rng.Below(28232)); }

void Sshd(Rng& rng, storage::LogEntry* e) {
  const uint64_t host = kWebHosts.Draw(rng);
  AppendHost(&e->hostname, "bastion-", host % 40);
  e->app_name = "sshd";
  absl::StrAppend(&e->proc_id, 1000 + Mix(host ^ rng.Below(64)) % 4000000);
  std::string& m = e->message;
  const uint64_t user = kUsers.Draw(rng);
  const uint64_t client = kClients.Draw(rng);
  const uint64_t kind = rng.Below(100);
  int severity = 6;
  e->msg_id = "auth";
  if (kind < 30) {
    m.append("Failed password for ");
    if (rng.Chance(0.6)) m.append("invalid user ");
    AppendUser(&m, user);
    m.append(" from ");
    AppendIp(&m, client);
    absl::StrAppend(&m, " port ", Port(rng), " ssh2");
    severity = 5;
  } else if (kind < 50) {
    m.append("Accepted publickey for ");
    AppendUser(&m, user);
    m.append(" from ");
    AppendIp(&m, client);
    absl::StrAppend(&m, " port ", Port(rng), " ssh2: ED25519 SHA256:");
    AppendHex(&m, Mix(user), 16);
    AppendHex(&m, Mix(user + 1), 11);
  } else if (kind < 70) {
    e->msg_id = "session";
    m.append("pam_unix(sshd:session): session opened for user ");
    AppendUser(&m, user);
    absl::StrAppend(&m, "(uid=", 1000 + user % 60000, ") by (uid=0)");
  } else if (kind < 85) {
    absl::StrAppend(&m, "Received disconnect from ");
    AppendIp(&m, client);
    absl::StrAppend(&m, " port ", Port(rng), ":11: disconnected by user");
  } else {
    m.append("Connection closed by authenticating user ");
    AppendUser(&m, user);
    m.append(" ");
    AppendIp(&m, client);
    absl::StrAppend(&m, " port ", Port(rng), " [preauth]");
    severity = 5;
  }
  Finish(e, {10, severity});  // authpriv
}

void Kernel(Rng& rng, int64_t now_ns, storage::LogEntry* e) {
  const uint64_t node = kNodes.Draw(rng);
  AppendHost(&e->hostname, "k8s-node-", node);
  e->app_name = "kernel";
  e->proc_id = "-";
  e->msg_id = "-";
  std::string& m = e->message;
  // Seconds since boot, as the kernel stamps its lines.
  const uint64_t uptime_us =
      static_cast<uint64_t>(now_ns / 1000) % 9000000000000ULL + node;
  absl::StrAppend(&m, "[", uptime_us / 1000000, ".");
  absl::StrAppend(&m, absl::Dec(uptime_us % 1000000, absl::kZeroPad6), "] ");
  const uint64_t kind = rng.Below(100);
  int severity = 6;
  if (kind < 30) {
    absl::StrAppend(&m, "audit: type=1400 audit(", now_ns / 1000000000, ".",
                    absl::Dec((now_ns / 1000000) % 1000, absl::kZeroPad3), ":",
                    rng.Below(1000000), "): apparmor=\"DENIED\" operation=\"open\" "
                    "profile=\"", Skewed(kProcs, rng), "\" name=\"/proc/",
                    rng.Below(4000000), "/status\" pid=", rng.Below(4000000));
    severity = 5;
  } else if (kind < 50) {
    absl::StrAppend(&m, "IPv4: martian source ");
    AppendIp(&m, kClients.Draw(rng) | 1);
    absl::StrAppend(&m, " from ");
    AppendIp(&m, kClients.Draw(rng) | 1);
    absl::StrAppend(&m, ", on dev ", Skewed(kIfaces, rng));
    severity = 4;
  } else if (kind < 65) {
    absl::StrAppend(&m, "TCP: request_sock_TCP: Possible SYN flooding on port ",
                    1 + kIds.Draw(rng) % 65535, ". Sending cookies.");
    severity = 4;
  } else if (kind < 75) {
    const uint64_t pid = rng.Below(4000000);
    absl::StrAppend(&m, "Out of memory: Killed process ", pid, " (",
                    Skewed(kProcs, rng), ") total-vm:", rng.LogUniform(4e7),
                    "kB, anon-rss:", rng.LogUniform(2e7), "kB, file-rss:",
                    rng.LogUniform(1e5), "kB, shmem-rss:0kB, UID:",
                    1000 + rng.Below(60000));
    severity = 3;
  } else if (kind < 90) {
    absl::StrAppend(&m, Skewed(kIfaces, rng),
                    ": Link is Up - 10Gbps/Full - flow control rx/tx");
  } else {
    absl::StrAppend(&m, "EXT4-fs (nvme", rng.Below(4), "n1p", 1 + rng.Below(8),
                    "): re-mounted ", absl::Hex(Mix(node), absl::kZeroPad8),
                    "-", absl::Hex(Mix(node + 7) & 0xffff, absl::kZeroPad4),
                    ". Quota mode: none.");
  }
  Finish(e, {0, severity});  // kern
}

void Access(Rng& rng, int64_t now_ns, storage::LogEntry* e) {
  const uint64_t host = kWebHosts.Draw(rng);
  AppendHost(&e->hostname, "web-", host);
  e->app_name = "nginx";
  absl::StrAppend(&e->proc_id, 1000 + Mix(host) % 4000000 + rng.Below(4));
  e->msg_id = "access";
  std::string& m = e->message;
  AppendIp(&m, kClients.Draw(rng));
  m.append(" - ");
  if (rng.Chance(0.2)) {
    AppendUser(&m, kUsers.Draw(rng));
  } else {
    m.append("-");
  }
  const time_t seconds = static_cast<time_t>(now_ns / 1000000000);
  struct tm t;
  gmtime_r(&seconds, &t);
  absl::StrAppend(&m, " [", absl::Dec(t.tm_mday, absl::kZeroPad2), "/",
                  kMonths[t.tm_mon], "/", 1900 + t.tm_year, ":",
                  absl::Dec(t.tm_hour, absl::kZeroPad2), ":",
                  absl::Dec(t.tm_min, absl::kZeroPad2), ":",
                  absl::Dec(t.tm_sec, absl::kZeroPad2), " +0000] \"",
                  Skewed(kMethods, rng), " ", Skewed(kRoutes, rng),
                  kIds.Draw(rng) % 10000000);
  if (rng.Chance(0.3)) absl::StrAppend(&m, "?page=", 1 + rng.LogUniform(200));
  // Status codes as a busy site serves them.
  const uint64_t s = rng.Below(1000);
  const int status = s < 760   ? 200
                     : s < 840 ? 304
                     : s < 900 ? 404
                     : s < 930 ? 301
                     : s < 950 ? 201
                     : s < 965 ? 401
                     : s < 975 ? 403
                     : s < 985 ? 204
                     : s < 995 ? 500
                               : 502;
  absl::StrAppend(&m, " HTTP/1.1\" ", status, " ", rng.LogUniform(2e6), " \"-\" \"",
                  Skewed(kAgents, rng), "\" rt=", rng.LogUniform(3000) / 1000.0);
  Finish(e, {23, status >= 500 ? 3 : status >= 400 ? 4 : 6});  // local7
}

void Systemd(Rng& rng, storage::LogEntry* e) {
  const uint64_t host = kNodes.Draw(rng);
  AppendHost(&e->hostname, "k8s-node-", host);
  e->app_name = "systemd";
  e->proc_id = "1";
  e->msg_id = "unit";
  std::string& m = e->message;
  const char* unit = Skewed(kUnits, rng);
  const uint64_t kind = rng.Below(100);
  int severity = 6;
  if (kind < 25) {
    absl::StrAppend(&m, "Started ", unit, ".service.");
  } else if (kind < 40) {
    absl::StrAppend(&m, "Starting ", unit, ".service...");
  } else if (kind < 60) {
    absl::StrAppend(&m, unit, ".service: Consumed ", rng.LogUniform(100000) / 1000.0,
                    "s CPU time.");
  } else if (kind < 70) {
    absl::StrAppend(&m, unit, ".service: Main process exited, code=exited, "
                    "status=", 1 + rng.Below(3), "/FAILURE");
    severity = 4;
  } else if (kind < 90) {
    const uint64_t user = kUsers.Draw(rng);
    absl::StrAppend(&m, "Started Session ", kSessions.Draw(rng) % 10000000,
                    " of User ");
    AppendUser(&m, user);
    m.append(".");
  } else {
    absl::StrAppend(&m, "run-docker-runtime\\x2drunc-moby-");
    AppendHex(&m, rng.Bits(), 16);
    AppendHex(&m, rng.Bits(), 16);
    m.append("-runc.");
    AppendHex(&m, rng.Bits() & 0xffffff, 6);
    m.append(".mount: Deactivated successfully.");
  }
  Finish(e, {3, severity});  // daemon
}

void AppJson(Rng& rng, int64_t now_ns, storage::LogEntry* e) {
  const uint64_t pod = kNodes.Draw(rng);
  const char* service = Skewed(kServices, rng);
  absl::StrAppend(&e->hostname, service, "-");
  AppendHex(&e->hostname, Mix(pod) & 0xfffffff, 7);
  e->app_name = service;
  e->proc_id = "1";
  const char* level = Skewed(kLevels, rng);
  const char* event = Skewed(kEvents, rng);
  e->msg_id = Skewed(kModules, rng);
  std::string& m = e->message;
  // Milliseconds, as application loggers stamp.
  const std::string ts = storage::FormatTimestamp(now_ns).substr(0, 23);
  absl::StrAppend(&m, "{\"level\":\"", level, "\",\"ts\":\"", ts,
                  "Z\",\"logger\":\"",
                  e->msg_id, "\",\"msg\":\"", event, "\",\"request_id\":\"");
  AppendHex(&m, rng.Bits(), 16);
  m.append("\",\"trace_id\":\"");
  AppendHex(&m, rng.Bits(), 16);
  AppendHex(&m, rng.Bits(), 16);
  absl::StrAppend(&m, "\",\"user_id\":", 1 + kUids.Draw(rng) % 10000000,
                  ",\"duration_ms\":", rng.LogUniform(5000), "}");
  const int severity = level[0] == 'e' ? 3 : level[0] == 'w' ? 4
                       : level[0] == 'd' ? 7 : 6;
  Finish(e, {16, severity});  // local0
}

void SlowQuery(Rng& rng, storage::LogEntry* e) {
  const uint64_t host = kDbHosts.Draw(rng);
  AppendHost(&e->hostname, "db-", host);
  e->app_name = "postgres";
  absl::StrAppend(&e->proc_id, 1000 + rng.Below(4000000));
  e->msg_id = "slow_query";
  std::string& m = e->message;
  absl::StrAppend(&m, "duration: ", 200 + rng.LogUniform(20000), ".",
                  absl::Dec(rng.Below(1000), absl::kZeroPad3), " ms  ");
  const char* table = Skewed(kTables, rng);
  const uint64_t id = kIds.Draw(rng) % 100000000;
  if (rng.Chance(0.7)) {
    absl::StrAppend(&m, "statement: SELECT * FROM ", table, " WHERE ",
                    Skewed(kColumns, rng), " = ", id,
                    " ORDER BY created_at DESC LIMIT ", 1 + rng.LogUniform(500));
  } else {
    absl::StrAppend(&m, "execute <unnamed>: UPDATE ", table,
                    " SET status = '", Skewed(kStates, rng),
                    "', updated_at = now() WHERE id = ", id);
  }
  Finish(e, {17, 4});  // local1
}

}  // namespace

storage::LogEntry RealisticGenerator::Make(uint64_t writer_seed, int64_t count,
                                           int64_t timestamp_ns) {
  Rng rng(EntrySeed(writer_seed, count));
  storage::LogEntry e;
  e.timestamp_ns = timestamp_ns;
  // The families' shares of the rows.
  const uint64_t family = rng.Below(100);
  if (family < 35) {
    Access(rng, timestamp_ns, &e);
  } else if (family < 60) {
    AppJson(rng, timestamp_ns, &e);
  } else if (family < 72) {
    Sshd(rng, &e);
  } else if (family < 84) {
    Systemd(rng, &e);
  } else if (family < 92) {
    Kernel(rng, timestamp_ns, &e);
  } else {
    SlowQuery(rng, &e);
  }
  return e;
}

storage::LogEntry RealisticGenerator::Next() { return At(count_, seed_); }

storage::LogEntry RealisticGenerator::At(int64_t count, uint64_t writer_seed) {
  seed_ = writer_seed;
  count_ = count + 1;
  const int64_t now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count();
  return Make(writer_seed, count, now_ns);
}

}  // namespace loadtest::agent
