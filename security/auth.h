// Authentication of the control channel between `loadtest` and
// `loadtest-agent`:
//   - TLS: the agent serves with --tls-cert/--tls-key; the controller
//     trusts agents whose certificate is signed by --tls-ca.
//   - Mutual TLS: the agent also takes --tls-client-ca and then requires
//     every caller to present a certificate signed by it (the controller's
//     --tls-cert/--tls-key).
//   - A shared token: --auth-token-file on both sides; the controller sends
//     it with every call ("authorization: Bearer TOKEN"; the agent takes the
//     scheme in any case, as RFC 7235 says), the agent compares it in
//     constant time. Over plaintext it can be sniffed: use it with TLS off a
//     trusted network. One shorter than kMinTokenLength is guessable: the
//     agent warns at start.
// The agent checks every call (ServerAuth::Check at the start of each RPC)
// and refuses with UNAUTHENTICATED saying what was missing or wrong. The
// client certificate's chain is verified by this code (OpenSSL), not in the
// handshake, so that a refused certificate is an UNAUTHENTICATED answer the
// controller can show, not a failed connection.
//
// Thread-safety: both classes are immutable after Create; Check and Apply
// are safe from any thread.
#ifndef LOADTEST_SECURITY_AUTH_H_
#define LOADTEST_SECURITY_AUTH_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace loadtest::security {

// The shortest token the agent accepts without a warning (32 hex digits
// from `openssl rand -hex 32` are 64).
inline constexpr size_t kMinTokenLength = 16;

// The file's content without leading and trailing whitespace.
// InvalidArgument when it cannot be read or is empty, naming the file.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

// Equal in time that depends on neither content nor length (compares
// SHA-256 digests with CRYPTO_memcmp).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Whether `host` (as in --listen HOST:PORT; brackets allowed) is a loopback
// address: an IPv4 address in 127.0.0.0/8 (dotted quad, parsed), "::1" (or
// an IPv4-mapped 127.x address), or exactly "localhost". Not a name that
// merely starts with "127." ("127.evil.example").
bool IsLoopbackHost(const std::string& host);

struct ServerAuthOptions {
  std::string tls_cert_file;       // With tls_key_file: serve TLS.
  std::string tls_key_file;
  std::string tls_client_ca_file;  // Needs TLS: require a client certificate.
  std::string token_file;          // Require this token.
};

class ServerAuth {
 public:
  // Reads and checks the files. InvalidArgument naming the flag and file
  // when one is unreadable, a key without a certificate (or the other way
  // round), or a client CA without TLS.
  static absl::StatusOr<std::unique_ptr<ServerAuth>> Create(
      const ServerAuthOptions& options);

  std::shared_ptr<grpc::ServerCredentials> credentials() const;

  // OK when the caller may proceed; UNAUTHENTICATED with the reason
  // ("no token", "wrong token", "no client certificate", "client
  // certificate not signed by this agent's --tls-client-ca: ...").
  grpc::Status Check(const grpc::ServerContext& context) const;

  // Whether callers must prove anything (a token or a client certificate).
  bool authenticates() const { return !token_.empty() || store_ != nullptr; }
  // Whether it serves TLS.
  bool tls() const { return tls_; }
  // The required token's length in characters; 0 without one.
  size_t token_length() const { return token_.size(); }
  // "mutual TLS + token", "TLS", "none", ...
  std::string Describe() const;

  ~ServerAuth();

 private:
  ServerAuth() = default;

  bool tls_ = false;
  std::string cert_pem_;
  std::string key_pem_;
  std::string token_;
  void* store_ = nullptr;  // X509_STORE* of the client CA, or null.
};

struct ClientAuthOptions {
  std::string tls_ca_file;    // Use TLS and trust agents signed by this CA.
  std::string tls_cert_file;  // With tls_key_file: present it (mutual TLS).
  std::string tls_key_file;
  // The name the agents' certificates are checked against, instead of the
  // host of each target (e.g. the DNS name when dns:/// gave addresses).
  std::string tls_server_name;
  std::string token_file;     // Send this token with every call.
};

class ClientAuth {
 public:
  // Plaintext, no token.
  ClientAuth() = default;
  // InvalidArgument naming the flag and file on a problem (as ServerAuth),
  // or a client certificate without --tls-ca.
  static absl::StatusOr<ClientAuth> Create(const ClientAuthOptions& options);

  std::shared_ptr<grpc::ChannelCredentials> credentials() const;
  // Adds the channel arguments TLS needs (the server name override).
  void ApplyTo(grpc::ChannelArguments* arguments) const;
  // Adds the token to a call.
  void ApplyTo(grpc::ClientContext* context) const;
  bool tls() const { return tls_; }

 private:
  bool tls_ = false;
  std::string ca_pem_;
  std::string cert_pem_;
  std::string key_pem_;
  std::string server_name_;
  std::string token_;
};

}  // namespace loadtest::security

#endif  // LOADTEST_SECURITY_AUTH_H_
