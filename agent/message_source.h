// MessageSource: where one run's rows and search terms come from
// (--messages, --search-terms; docs/messages.md). Built once per run from
// the RunSpec's MessageOptions, then shared read-only by the writers (each
// takes its own MessageStream) and the readers (Query). Also what the
// controller measures of a source before a run (MeasureMessages).
//
// A MessageSource is immutable after Create: safe from any thread. A
// MessageStream belongs to one writer thread.
#ifndef LOADTEST_AGENT_MESSAGE_SOURCE_H_
#define LOADTEST_AGENT_MESSAGE_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/log_generator.h"
#include "agent/log_replay.h"
#include "protocol/run_spec.h"
#include "storage/log_entry.h"

namespace loadtest::agent {

// One writer's rows. Both calls stamp the row with the current time.
class MessageStream {
 public:
  virtual ~MessageStream() = default;
  // Closed loop: the writer's next row.
  virtual storage::LogEntry Next() = 0;
  // Open loop: row `count` of writer `writer_id` whose seed is
  // `writer_seed`, whatever this stream made before.
  virtual storage::LogEntry At(int writer_id, int64_t count,
                               uint64_t writer_seed) = 0;
};

class MessageSource {
 public:
  // The source of `options` for an agent whose workload seed is `seed`.
  // kFile: parses the content (InvalidArgument as ParseCorpus). The search
  // terms (unless kOriginal) come from a sample of the source: 20,000 rows
  // of writer 0 for a generator, the whole file for a replay.
  static absl::StatusOr<std::unique_ptr<MessageSource>> Create(
      const protocol::MessageOptions& options, uint64_t seed);

  // Writer `writer_id`'s stream, seeded `writer_seed`
  // (WriterSeed(seed, writer_id)). A replayed file starts at an offset
  // drawn from the seed and loops. The source must outlive the stream.
  std::unique_ptr<MessageStream> NewStream(int writer_id,
                                           uint64_t writer_seed) const;

  // Query `n` of the readers' rotation: text, hostname, app name, recent,
  // text (the original's shape and limits). With kOriginal terms the
  // original's arguments; otherwise text terms, hostnames and app names
  // drawn in turn from the head, tail or both of the sample's frequencies.
  // Its argument points into this source.
  ReadQuery Query(int64_t n) const;

  // The search terms in use (FTS5 queries, each a quoted token), for the
  // run header and tests; empty with kOriginal.
  const std::vector<std::string>& text_terms() const { return text_terms_; }

  // kFile: the parsed file; null otherwise.
  const ReplayCorpus* corpus() const { return corpus_.get(); }

 private:
  explicit MessageSource(const protocol::MessageOptions& options);
  void PickTerms(const std::vector<storage::LogEntry>& sample);

  const protocol::MessageSource kind_;
  const protocol::SearchTerms terms_;
  std::unique_ptr<const ReplayCorpus> corpus_;
  std::vector<std::string> text_terms_;
  std::vector<std::string> hostnames_;
  std::vector<std::string> app_names_;
};

// A byte FTS5's default tokenizer keeps in a token (ASCII letters and
// digits; any byte of a UTF-8 sequence).
inline bool IsTokenByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || static_cast<unsigned char>(c) >= 0x80;
}

// Calls `token(text)` for each token of `text` as FTS5's default
// tokenizer (unicode61) splits ASCII: runs of letters and digits (bytes of
// UTF-8 sequences count as letters), lower-cased into `*scratch`.
template <typename F>
void ForEachToken(absl::string_view text, std::string* scratch, F token) {
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && !IsTokenByte(text[i])) ++i;
    scratch->clear();
    while (i < text.size() && IsTokenByte(text[i])) {
      const char c = text[i++];
      scratch->push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c);
    }
    if (!scratch->empty()) token(absl::string_view(*scratch));
  }
}

// Distinct tokens in the messages of `entries`.
int64_t DistinctTokens(const std::vector<storage::LogEntry>& entries);

// What the report states of a source (docs/messages.md): over its first
// `rows` rows (writer 0 of the first agent; a replay: its first lines from
// writer 0's offset), the message's mean and 99th percentile length in
// bytes and its distinct tokens.
struct MessageStatistics {
  int64_t rows = 0;
  double mean_message_bytes = 0;
  int64_t p99_message_bytes = 0;
  int64_t distinct_tokens = 0;
};
MessageStatistics MeasureMessages(const MessageSource& source, uint64_t seed,
                                  int64_t rows);

// `rows` rows of writer 0 of a source seeded `seed` (tests, statistics).
std::vector<storage::LogEntry> SampleRows(const MessageSource& source,
                                          uint64_t seed, int64_t rows);

}  // namespace loadtest::agent

#endif  // LOADTEST_AGENT_MESSAGE_SOURCE_H_
