#include "agent/message_source.h"

#include <algorithm>
#include <chrono>
#include <unordered_map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/realistic_generator.h"

namespace loadtest::agent {
namespace {

using protocol::SearchTerms;

// Rows of writer 0 the search terms are picked from (generators).
constexpr int64_t kTermSampleRows = 20000;
// How many values of the head (common) and of the tail (rare) are used.
constexpr size_t kCommonTerms = 8;
constexpr size_t kRareTerms = 64;
constexpr size_t kCommonValues = 3;
constexpr size_t kRareValues = 16;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class OriginalStream : public MessageStream {
 public:
  OriginalStream(int writer_id, uint64_t seed) : generator_(writer_id, seed) {}
  storage::LogEntry Next() override { return generator_.Next(); }
  storage::LogEntry At(int writer_id, int64_t count,
                       uint64_t writer_seed) override {
    return generator_.At(writer_id, count, writer_seed);
  }

 private:
  LogGenerator generator_;
};

class RealisticStream : public MessageStream {
 public:
  explicit RealisticStream(uint64_t seed) : generator_(seed) {}
  storage::LogEntry Next() override { return generator_.Next(); }
  storage::LogEntry At(int /*writer_id*/, int64_t count,
                       uint64_t writer_seed) override {
    return generator_.At(count, writer_seed);
  }

 private:
  RealisticGenerator generator_;
};

// Row `count` of a writer is line (offset + count) mod lines, the offset
// drawn from the writer's seed: writers (and agents) start at different
// places of the file and loop.
class ReplayStream : public MessageStream {
 public:
  ReplayStream(const ReplayCorpus* corpus, uint64_t seed)
      : corpus_(corpus), seed_(seed) {}
  storage::LogEntry Next() override { return At(0, count_++, seed_); }
  storage::LogEntry At(int /*writer_id*/, int64_t count,
                       uint64_t writer_seed) override {
    const uint64_t lines = corpus_->entries.size();
    const uint64_t offset = EntrySeed(writer_seed, -1) % lines;
    storage::LogEntry e =
        corpus_->entries[(offset + static_cast<uint64_t>(count)) % lines];
    e.timestamp_ns = NowNs();
    return e;
  }

 private:
  const ReplayCorpus* const corpus_;
  const uint64_t seed_;
  int64_t count_ = 0;
};

// A token of one or two digits: mostly a part of a timestamp in the
// message (day, hour, minute, second), whose frequency in a sample depends
// on when it was made, not on the seed. Never picked as a search term.
bool IsClockPart(absl::string_view token) {
  return !token.empty() && token.size() <= 2 &&
         std::all_of(token.begin(), token.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

// `counts`' keys sorted by count, most frequent first (ties by name, so a
// sample always gives the same order).
std::vector<std::string> ByFrequency(
    const std::unordered_map<std::string, int64_t>& counts) {
  std::vector<std::pair<std::string, int64_t>> items(counts.begin(),
                                                     counts.end());
  std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  std::vector<std::string> names;
  names.reserve(items.size());
  for (auto& item : items) names.push_back(std::move(item.first));
  return names;
}

// The head (`head` values), the tail (`tail` values spread over the least
// frequent quarter) or both interleaved, of `sorted` (most frequent first).
std::vector<std::string> Choose(const std::vector<std::string>& sorted,
                                SearchTerms terms, size_t head, size_t tail) {
  if (sorted.empty()) return {};
  std::vector<std::string> common(
      sorted.begin(), sorted.begin() + std::min(head, sorted.size()));
  std::vector<std::string> rare;
  const size_t tail_size = std::max<size_t>(1, sorted.size() / 4);
  const size_t step = std::max<size_t>(1, tail_size / tail);
  for (size_t i = 0; i < tail_size && rare.size() < tail; i += step) {
    rare.push_back(sorted[sorted.size() - 1 - i]);
  }
  if (terms == SearchTerms::kCommon) return common;
  if (terms == SearchTerms::kRare) return rare;
  std::vector<std::string> mixed;
  for (size_t i = 0; i < std::max(common.size(), rare.size()); ++i) {
    if (i < common.size()) mixed.push_back(common[i]);
    if (i < rare.size()) mixed.push_back(rare[i]);
  }
  return mixed;
}

}  // namespace

MessageSource::MessageSource(const protocol::MessageOptions& options)
    : kind_(options.source), terms_(options.search_terms) {}

absl::StatusOr<std::unique_ptr<MessageSource>> MessageSource::Create(
    const protocol::MessageOptions& options, uint64_t seed) {
  std::unique_ptr<MessageSource> source(new MessageSource(options));
  if (options.source == protocol::MessageSource::kFile) {
    auto corpus = ParseCorpus(options.file_content, options.format,
                              options.file_path);
    if (!corpus.ok()) return corpus.status();
    source->corpus_ = std::make_unique<const ReplayCorpus>(std::move(*corpus));
  }
  if (options.search_terms != SearchTerms::kOriginal) {
    source->PickTerms(source->corpus_ != nullptr
                          ? source->corpus_->entries
                          : SampleRows(*source, seed, kTermSampleRows));
  }
  return source;
}

void MessageSource::PickTerms(const std::vector<storage::LogEntry>& sample) {
  std::unordered_map<std::string, int64_t> tokens, hosts, apps;
  std::string scratch;
  for (const storage::LogEntry& e : sample) {
    ForEachToken(e.message, &scratch, [&tokens](absl::string_view t) {
      if (!IsClockPart(t)) ++tokens[std::string(t)];
    });
    if (!e.hostname.empty()) ++hosts[e.hostname];
    if (!e.app_name.empty()) ++apps[e.app_name];
  }
  for (const std::string& token :
       Choose(ByFrequency(tokens), terms_, kCommonTerms, kRareTerms)) {
    text_terms_.push_back(absl::StrCat("\"", token, "\""));
  }
  hostnames_ = Choose(ByFrequency(hosts), terms_, kCommonValues, kRareValues);
  app_names_ = Choose(ByFrequency(apps), terms_, kCommonValues, kRareValues);
  // A file without hostnames or app names (plain lines): search for the
  // empty value the rows hold.
  if (hostnames_.empty()) hostnames_.emplace_back();
  if (app_names_.empty()) app_names_.emplace_back();
  if (text_terms_.empty()) text_terms_.emplace_back("\"\"");
}

std::unique_ptr<MessageStream> MessageSource::NewStream(
    int writer_id, uint64_t writer_seed) const {
  switch (kind_) {
    case protocol::MessageSource::kRealistic:
      return std::make_unique<RealisticStream>(writer_seed);
    case protocol::MessageSource::kFile:
      return std::make_unique<ReplayStream>(corpus_.get(), writer_seed);
    case protocol::MessageSource::kOriginal:
      break;
  }
  return std::make_unique<OriginalStream>(writer_id, writer_seed);
}

ReadQuery MessageSource::Query(int64_t n) const {
  ReadQuery query = QueryForIteration(n);
  if (terms_ == SearchTerms::kOriginal) return query;
  // The rotation's two text searches take consecutive terms.
  const auto round = static_cast<size_t>(n / 5);
  switch (query.kind) {
    case QueryKind::kText:
      query.argument =
          text_terms_[(2 * round + (n % 5 == 0 ? 0 : 1)) % text_terms_.size()]
              .c_str();
      break;
    case QueryKind::kHostname:
      query.argument = hostnames_[round % hostnames_.size()].c_str();
      break;
    case QueryKind::kAppName:
      query.argument = app_names_[round % app_names_.size()].c_str();
      break;
    case QueryKind::kRecent:
      break;
  }
  return query;
}

std::vector<storage::LogEntry> SampleRows(const MessageSource& source,
                                          uint64_t seed, int64_t rows) {
  std::unique_ptr<MessageStream> stream =
      source.NewStream(0, WriterSeed(seed, 0));
  std::vector<storage::LogEntry> sample;
  sample.reserve(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) sample.push_back(stream->Next());
  return sample;
}

int64_t DistinctTokens(const std::vector<storage::LogEntry>& entries) {
  std::unordered_map<std::string, int64_t> tokens;
  std::string scratch;
  for (const storage::LogEntry& e : entries) {
    ForEachToken(e.message, &scratch,
                 [&tokens](absl::string_view t) { ++tokens[std::string(t)]; });
  }
  return static_cast<int64_t>(tokens.size());
}

MessageStatistics MeasureMessages(const MessageSource& source, uint64_t seed,
                                  int64_t rows) {
  const std::vector<storage::LogEntry> sample = SampleRows(source, seed, rows);
  MessageStatistics stats;
  stats.rows = static_cast<int64_t>(sample.size());
  if (sample.empty()) return stats;
  std::vector<int64_t> lengths;
  lengths.reserve(sample.size());
  double total = 0;
  for (const storage::LogEntry& e : sample) {
    lengths.push_back(static_cast<int64_t>(e.message.size()));
    total += static_cast<double>(e.message.size());
  }
  std::sort(lengths.begin(), lengths.end());
  stats.mean_message_bytes = total / static_cast<double>(sample.size());
  stats.p99_message_bytes = lengths[(lengths.size() * 99) / 100 >= lengths.size()
                                        ? lengths.size() - 1
                                        : (lengths.size() * 99) / 100];
  stats.distinct_tokens = DistinctTokens(sample);
  return stats;
}

}  // namespace loadtest::agent
