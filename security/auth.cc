#include "security/auth.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace loadtest::security {
namespace {

constexpr char kAuthorization[] = "authorization";
constexpr char kBearer[] = "Bearer ";

// The credentials of an "authorization" value whose scheme is Bearer, in
// any case (RFC 7235: schemes are case-insensitive), or nullopt.
std::optional<std::string_view> BearerCredentials(std::string_view value) {
  const size_t space = value.find(' ');
  if (space == std::string_view::npos ||
      !absl::EqualsIgnoreCase(absl::string_view(value.data(), space),
                              "bearer")) {
    return std::nullopt;
  }
  std::string_view credentials = value.substr(space + 1);
  while (!credentials.empty() && credentials.front() == ' ') {
    credentials.remove_prefix(1);
  }
  return credentials;
}

absl::StatusOr<std::string> ReadWhole(const std::string& path,
                                      const char* flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot read ", flag, " file ", path, ": ", std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Bio = std::unique_ptr<BIO, BioDeleter>;
using Cert = std::unique_ptr<X509, X509Deleter>;

Bio MemoryBio(const std::string& pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Every certificate in `pem`, in order.
std::vector<Cert> ParseCertificates(const std::string& pem) {
  std::vector<Cert> certs;
  Bio bio = MemoryBio(pem);
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certs.emplace_back(x);
  }
  return certs;
}

// Checks that `cert_pem` holds a certificate and `key_pem` its private key.
absl::Status CheckCertificateAndKey(const std::string& cert_pem,
                                    const std::string& key_pem,
                                    const std::string& cert_flag,
                                    const std::string& cert_path,
                                    const std::string& key_flag,
                                    const std::string& key_path) {
  std::vector<Cert> certs = ParseCertificates(cert_pem);
  if (certs.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        cert_flag, " ", cert_path, " holds no PEM certificate"));
  }
  Bio bio = MemoryBio(key_pem);
  std::unique_ptr<EVP_PKEY, KeyDeleter> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        key_flag, " ", key_path, " holds no PEM private key"));
  }
  if (X509_check_private_key(certs.front().get(), key.get()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(key_flag, " ", key_path, " is not the key of ",
                     cert_flag, " ", cert_path));
  }
  return absl::OkStatus();
}

// The PEM texts of --tls-cert and --tls-key, checked to be a certificate
// and its key.
absl::StatusOr<std::pair<std::string, std::string>> ReadCertificateAndKey(
    const std::string& cert_path, const std::string& key_path) {
  auto cert = ReadWhole(cert_path, "--tls-cert");
  if (!cert.ok()) return cert.status();
  auto key = ReadWhole(key_path, "--tls-key");
  if (!key.ok()) return key.status();
  if (absl::Status s = CheckCertificateAndKey(*cert, *key, "--tls-cert",
                                              cert_path, "--tls-key", key_path);
      !s.ok()) {
    return s;
  }
  return std::make_pair(std::move(*cert), std::move(*key));
}

grpc::Status Refuse(const std::string& why) {
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, why);
}

}  // namespace

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadWhole(path, "--auth-token-file");
  if (!text.ok()) return text.status();
  std::string token(absl::StripAsciiWhitespace(*text));
  if (token.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--auth-token-file ", path, " is empty"));
  }
  return token;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  unsigned char da[SHA256_DIGEST_LENGTH], db[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(a.data()), a.size(), da);
  SHA256(reinterpret_cast<const unsigned char*>(b.data()), b.size(), db);
  return CRYPTO_memcmp(da, db, sizeof(da)) == 0;
}

bool IsLoopbackHost(const std::string& host) {
  std::string h = host;
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') {
    h = h.substr(1, h.size() - 2);
  }
  if (h == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

// ------------------------------------------------------------ ServerAuth

absl::StatusOr<std::unique_ptr<ServerAuth>> ServerAuth::Create(
    const ServerAuthOptions& options) {
  std::unique_ptr<ServerAuth> auth(new ServerAuth());
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert and --tls-key go together (the agent's certificate and "
        "its private key)");
  }
  if (!options.tls_cert_file.empty()) {
    auto pair = ReadCertificateAndKey(options.tls_cert_file, options.tls_key_file);
    if (!pair.ok()) return pair.status();
    auth->tls_ = true;
    auth->cert_pem_ = std::move(pair->first);
    auth->key_pem_ = std::move(pair->second);
  }
  if (!options.tls_client_ca_file.empty()) {
    if (!auth->tls_) {
      return absl::InvalidArgumentError(
          "--tls-client-ca needs --tls-cert and --tls-key (client "
          "certificates are part of TLS)");
    }
    auto ca = ReadWhole(options.tls_client_ca_file, "--tls-client-ca");
    if (!ca.ok()) return ca.status();
    std::vector<Cert> certs = ParseCertificates(*ca);
    if (certs.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--tls-client-ca ", options.tls_client_ca_file,
          " holds no PEM certificate"));
    }
    X509_STORE* store = X509_STORE_new();
    for (const Cert& c : certs) X509_STORE_add_cert(store, c.get());
    auth->store_ = store;
  }
  if (!options.token_file.empty()) {
    auto token = ReadTokenFile(options.token_file);
    if (!token.ok()) return token.status();
    auth->token_ = std::move(*token);
  }
  return auth;
}

ServerAuth::~ServerAuth() {
  if (store_ != nullptr) X509_STORE_free(static_cast<X509_STORE*>(store_));
}

std::shared_ptr<grpc::ServerCredentials> ServerAuth::credentials() const {
  if (!tls_) return grpc::InsecureServerCredentials();
  // A client certificate is asked for but its chain is checked in Check(),
  // so that a refusal reaches the caller as UNAUTHENTICATED with a reason.
  // The handshake still proves the caller holds the certificate's key.
  grpc::SslServerCredentialsOptions options(
      store_ != nullptr ? GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY
                        : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_key_cert_pairs.push_back({key_pem_, cert_pem_});
  return grpc::SslServerCredentials(options);
}

std::string ServerAuth::Describe() const {
  std::string tls = !tls_ ? "plaintext"
                    : store_ != nullptr ? "mutual TLS"
                                        : "TLS (no client certificate)";
  return token_.empty() ? tls : absl::StrCat(tls, " + token");
}

grpc::Status ServerAuth::Check(const grpc::ServerContext& context) const {
  if (store_ != nullptr) {
    const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
    const std::vector<grpc::string_ref> leaf =
        auth == nullptr ? std::vector<grpc::string_ref>()
                        : auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
    if (leaf.empty()) {
      return Refuse(
          "no client certificate: this agent requires one signed by its "
          "--tls-client-ca (loadtest --tls-cert/--tls-key)");
    }
    std::vector<Cert> certs =
        ParseCertificates(std::string(leaf.front().data(), leaf.front().size()));
    if (certs.empty()) return Refuse("unreadable client certificate");
    STACK_OF(X509)* untrusted = sk_X509_new_null();
    std::vector<Cert> chain;
    for (const grpc::string_ref& pem :
         auth->FindPropertyValues(GRPC_X509_PEM_CERT_CHAIN_PROPERTY_NAME)) {
      for (Cert& c : ParseCertificates(std::string(pem.data(), pem.size()))) {
        sk_X509_push(untrusted, c.get());
        chain.push_back(std::move(c));
      }
    }
    X509_STORE_CTX* verify = X509_STORE_CTX_new();
    int ok = X509_STORE_CTX_init(verify, static_cast<X509_STORE*>(store_),
                                 certs.front().get(), untrusted);
    if (ok == 1) {
      X509_STORE_CTX_set_purpose(verify, X509_PURPOSE_SSL_CLIENT);
      ok = X509_verify_cert(verify);
    }
    const int error = X509_STORE_CTX_get_error(verify);
    X509_STORE_CTX_free(verify);
    sk_X509_free(untrusted);
    if (ok != 1) {
      return Refuse(absl::StrCat(
          "client certificate not accepted by this agent's --tls-client-ca: ",
          X509_verify_cert_error_string(error)));
    }
  }
  if (!token_.empty()) {
    const auto& metadata = context.client_metadata();
    const auto it = metadata.find(kAuthorization);
    if (it == metadata.end()) {
      return Refuse(
          "no token: this agent requires one (loadtest --auth-token-file)");
    }
    const std::optional<std::string_view> token = BearerCredentials(
        std::string_view(it->second.data(), it->second.size()));
    if (!token.has_value() || !ConstantTimeEquals(*token, token_)) {
      return Refuse("wrong token (compare the --auth-token-file of both sides)");
    }
  }
  return grpc::Status::OK;
}

// ------------------------------------------------------------ ClientAuth

absl::StatusOr<ClientAuth> ClientAuth::Create(const ClientAuthOptions& options) {
  ClientAuth auth;
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert and --tls-key go together (the controller's client "
        "certificate and its private key)");
  }
  if (!options.tls_cert_file.empty() && options.tls_ca_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert needs --tls-ca (the CA that signed the agents' "
        "certificates): client certificates are part of TLS");
  }
  if (!options.tls_server_name.empty() && options.tls_ca_file.empty()) {
    return absl::InvalidArgumentError("--tls-server-name needs --tls-ca");
  }
  if (!options.tls_ca_file.empty()) {
    auto ca = ReadWhole(options.tls_ca_file, "--tls-ca");
    if (!ca.ok()) return ca.status();
    if (ParseCertificates(*ca).empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--tls-ca ", options.tls_ca_file, " holds no PEM certificate"));
    }
    auth.tls_ = true;
    auth.ca_pem_ = std::move(*ca);
    auth.server_name_ = options.tls_server_name;
  }
  if (!options.tls_cert_file.empty()) {
    auto pair = ReadCertificateAndKey(options.tls_cert_file, options.tls_key_file);
    if (!pair.ok()) return pair.status();
    auth.cert_pem_ = std::move(pair->first);
    auth.key_pem_ = std::move(pair->second);
  }
  if (!options.token_file.empty()) {
    auto token = ReadTokenFile(options.token_file);
    if (!token.ok()) return token.status();
    auth.token_ = std::move(*token);
  }
  return auth;
}

std::shared_ptr<grpc::ChannelCredentials> ClientAuth::credentials() const {
  if (!tls_) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ca_pem_;
  options.pem_private_key = key_pem_;
  options.pem_cert_chain = cert_pem_;
  return grpc::SslCredentials(options);
}

void ClientAuth::ApplyTo(grpc::ChannelArguments* arguments) const {
  if (tls_ && !server_name_.empty()) {
    arguments->SetSslTargetNameOverride(server_name_);
  }
}

void ClientAuth::ApplyTo(grpc::ClientContext* context) const {
  if (!token_.empty()) {
    context->AddMetadata(kAuthorization, absl::StrCat(kBearer, token_));
  }
}

}  // namespace loadtest::security
