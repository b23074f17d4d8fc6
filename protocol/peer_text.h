// PeerText: how a string that came from the other side of the control
// channel (an agent's id, host name, version, stop reason, first error,
// integrity message; a controller's run id, database name or Stop reason)
// is shown on a terminal, in a CSV file or in a log line. Control
// characters (C0, DEL, C1) and bytes that are not UTF-8 become visible
// escapes (\n, \r, \t, \e, \xNN), so a peer cannot move the cursor, clear
// the screen, set the window title or forge a line; the text is capped at
// a length, so a peer cannot flood the output either. Backslashes are kept
// as they are: PeerText of its own output is that output (idempotent).
//
// IsPrintableText: whether a name or reason the agent accepts is plain
// printable text (ASCII 0x20..0x7e), for the fields that are refused
// rather than escaped.
//
// Pure functions; safe from any thread.
#ifndef LOADTEST_PROTOCOL_PEER_TEXT_H_
#define LOADTEST_PROTOCOL_PEER_TEXT_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace loadtest::protocol {

// The most bytes of a peer string shown by default.
inline constexpr size_t kPeerTextMaxBytes = 512;

// `text` with control characters and invalid UTF-8 escaped; when the result
// would exceed `max_bytes`, it is cut there (at a character boundary) and
// "... (N bytes)" names the original length. The result never exceeds
// max_bytes + 32 bytes.
std::string PeerText(std::string_view text,
                     size_t max_bytes = kPeerTextMaxBytes);

// True when every byte of `text` is printable ASCII (0x20..0x7e).
bool IsPrintableText(std::string_view text);

}  // namespace loadtest::protocol

#endif  // LOADTEST_PROTOCOL_PEER_TEXT_H_
