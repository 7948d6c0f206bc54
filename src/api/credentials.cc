#include "api/credentials.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace berth::api {

namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  size_t e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// Reads the [default] profile of a shared-credentials file.
std::optional<RootCredentials> ReadCredentialsFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return std::nullopt;
  }
  RootCredentials creds;
  std::string line, section;
  while (std::getline(in, line)) {
    line = Trim(line);
    if (line.empty() || line[0] == '#') {
      continue;
    }
    if (line.front() == '[' && line.back() == ']') {
      section = line.substr(1, line.size() - 2);
      continue;
    }
    size_t eq = line.find('=');
    if (section != "default" || eq == std::string::npos) {
      continue;
    }
    std::string key = Trim(line.substr(0, eq));
    std::string value = Trim(line.substr(eq + 1));
    if (key == "aws_access_key_id") {
      creds.access_key_id = value;
    } else if (key == "aws_secret_access_key") {
      creds.secret_access_key = value;
    }
  }
  if (creds.access_key_id.empty() || creds.secret_access_key.empty()) {
    return std::nullopt;
  }
  return creds;
}

}  // namespace

Result<RootCredentials> LoadOrCreateRootCredentials(const std::string& path, core::IdSource& ids) {
  const char* env_id = std::getenv("BERTH_ROOT_ACCESS_KEY_ID");
  const char* env_secret = std::getenv("BERTH_ROOT_SECRET_ACCESS_KEY");
  if (env_id != nullptr && env_secret != nullptr && *env_id != '\0' && *env_secret != '\0') {
    return RootCredentials{env_id, env_secret};
  }
  if (auto existing = ReadCredentialsFile(path)) {
    return *existing;
  }
  RootCredentials creds{"AKIA" + ids.RandomString(16, true), ids.RandomString(40, false)};
  std::string content = "# berth root credentials (admin). Use with:\n"
                        "#   export AWS_SHARED_CREDENTIALS_FILE=" + path + "\n"
                        "[default]\naws_access_key_id = " + creds.access_key_id +
                        "\naws_secret_access_key = " + creds.secret_access_key + "\n";
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return InternalError("cannot write " + tmp + ": " + strerror(errno));
  }
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    return InternalError("cannot write " + path + ": " + strerror(errno));
  }
  return creds;
}

std::optional<std::string> CredentialStore::SecretFor(std::string_view access_key_id,
                                                      std::string_view session_token) {
  if (IsRoot(access_key_id, session_token)) {
    return root_.secret_access_key;
  }
  return others_ ? others_(access_key_id, session_token) : std::nullopt;
}

}  // namespace berth::api
