// MotoServer: moto (https://github.com/getmoto/moto) in server mode, a local imitation of
// S3 and Secrets Manager, for the C ABI's AWS tests. It starts moto_server on a free
// loopback port ($MOTO_SERVER, else <source>/build/venv/bin/moto_server, else
// moto_server on PATH), points the AWS environment variables at it with dummy
// credentials, and stops it at the end. The library reads AWS_* variables set after it
// was loaded (capi syncs them when a store is opened), so setenv here is enough.
#ifndef ENVECTOR_MOTO_ENV_H
#define ENVECTOR_MOTO_ENV_H

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

extern char **environ;

namespace envtest {

class MotoServer : public ::testing::Environment {
public:
  void SetUp() override {
    std::string path = find();
    ASSERT_FALSE(path.empty())
        << "moto_server not found (not in $MOTO_SERVER, build/venv/bin or PATH); install it "
           "at the repository root with: python3 -m venv build/venv && build/venv/bin/pip "
           "install 'moto[server]>=5.1.14' (make deps does this)";
    port_ = free_port();
    ASSERT_GT(port_, 0);
    std::string port = std::to_string(port_);
    const char *argv[] = {path.c_str(), "-H", "127.0.0.1", "-p", port.c_str(), nullptr};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawn(&pid_, path.c_str(), &fa, nullptr, const_cast<char *const *>(argv), environ);
    posix_spawn_file_actions_destroy(&fa);
    ASSERT_EQ(rc, 0) << "starting " << path;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!answers("GET", "/moto-api/")) {
      int status = 0;
      ASSERT_EQ(waitpid(pid_, &status, WNOHANG), 0) << path << " exited before answering";
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << path << " did not answer in 60 s";
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    url_ = "http://127.0.0.1:" + port;
    setenv("AWS_ACCESS_KEY_ID", "test", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "test", 1);
    setenv("AWS_ENDPOINT_URL", url_.c_str(), 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    setenv("AWS_CONFIG_FILE", "/dev/null", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null", 1);
    unsetenv("AWS_ENDPOINT_URL_S3");
    unsetenv("AWS_ENDPOINT_URL_SECRETS_MANAGER");
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("AWS_PROFILE");
  }

  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

  // Empties moto: no bucket, no secret.
  static bool reset() { return instance()->answers("POST", "/moto-api/reset"); }

  // Creates a bucket (moto does not check signatures, so a bare PUT does).
  static bool create_bucket(const std::string &name) {
    return instance()->answers("PUT", "/" + name);
  }

  static MotoServer *instance() {
    static MotoServer *env =
        static_cast<MotoServer *>(::testing::AddGlobalTestEnvironment(new MotoServer));
    return env;
  }

private:
  static std::string find() {
    if (const char *p = std::getenv("MOTO_SERVER"); p != nullptr && *p != '\0') return p;
    std::string venv = std::string(ENVECTOR_SOURCE_DIR) + "/build/venv/bin/moto_server";
    if (access(venv.c_str(), X_OK) == 0) return venv;
    const char *path = std::getenv("PATH");
    std::string dirs = path != nullptr ? path : "";
    for (size_t start = 0; start <= dirs.size();) {
      size_t end = dirs.find(':', start);
      if (end == std::string::npos) end = dirs.size();
      std::string cand = dirs.substr(start, end - start) + "/moto_server";
      if (end > start && access(cand.c_str(), X_OK) == 0) return cand;
      start = end + 1;
    }
    return "";
  }

  static int free_port() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) == 0)
      port = ntohs(a.sin_port);
    close(fd);
    return port;
  }

  // One HTTP/1.1 request with an empty body; true for a 2xx answer.
  bool answers(const std::string &method, const std::string &target) const {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = false;
    if (connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0) {
      std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" +
                        std::to_string(port_) + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
        char buf[16] = {0};
        ssize_t n = read(fd, buf, sizeof buf - 1);
        ok = n >= 12 && std::string(buf, 7) == "HTTP/1." && buf[9] == '2';
      }
    }
    close(fd);
    return ok;
  }

  pid_t pid_ = -1;
  int port_ = -1;
  std::string url_;
};

} // namespace envtest

#endif // ENVECTOR_MOTO_ENV_H
