// envector_init against the reference key server (envector-keyserver, built by CMake into
// the build tree), started by each test on a free loopback port (--listen 127.0.0.1:0;
// the address is read from its first line of output). Its log (stderr) goes to a file,
// from which the tests count the EvalKeys it stored.
#include "test_util.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

extern char **environ;

using namespace envtest;
namespace fs = std::filesystem;

namespace {

const char *kToken = "s3cret-t0ken_for.C";

std::string read_file(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_file(const std::string &path, const std::string &data) {
  std::ofstream f(path, std::ios::binary);
  f << data;
}

size_t count(const std::string &text, const std::string &what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) n++;
  return n;
}

// KeyServer runs envector-keyserver over dir/srv with the token in dir/token.
class KeyServer {
public:
  explicit KeyServer(const std::string &dir) : dir_(dir) {
    write_file(dir + "/token", std::string(kToken) + "\n");
    log_ = dir + "/server.log";
    int out[2];
    if (pipe(out) != 0) std::abort();
    std::string srv = dir + "/srv", tok = dir + "/token";
    const char *argv[] = {ENVECTOR_KEYSERVER, "--listen", "127.0.0.1:0", "--dir", srv.c_str(),
                          "--token_file", tok.c_str(), nullptr};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    posix_spawn_file_actions_addopen(&fa, 2, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int rc = posix_spawn(&pid_, ENVECTOR_KEYSERVER, &fa, nullptr, const_cast<char *const *>(argv), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    if (rc != 0) {
      close(out[0]);
      ADD_FAILURE() << "cannot start " << ENVECTOR_KEYSERVER << ": " << strerror(rc);
      pid_ = 0;
      return;
    }
    // "envector-keyserver: serving grpc://127.0.0.1:PORT (keys in ...)"
    std::string line;
    char c;
    while (read(out[0], &c, 1) == 1 && c != '\n') line.push_back(c);
    close(out[0]);
    const std::string tag = "serving ";
    size_t at = line.find(tag);
    if (at == std::string::npos) {
      ADD_FAILURE() << "the key server said: " << line << read_file(log_);
      return;
    }
    address_ = line.substr(at + tag.size(), line.find(' ', at + tag.size()) - at - tag.size());
  }
  ~KeyServer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  const std::string &address() const { return address_; }
  std::string log() const { return read_file(log_); }
  // How many EvalKeys of key_id the server stored (its log says "registered").
  size_t stored(const std::string &key_id) const {
    return count(log(), "register_key \"" + key_id + "\": registered");
  }
  bool holds(const std::string &key_id) const { return fs::exists(dir_ + "/srv/" + key_id + "/EvalKey.bin"); }

private:
  std::string dir_, log_, address_;
  pid_t pid_ = 0;
};

// Init runs envector_init and keeps its result JSON (or its error).
struct Init {
  int rc = -1;
  std::string json;
  Err err;
  int run(const std::string &options, const char *token = kToken, const std::string &kek = "") {
    char *out = nullptr;
    rc = envector_init(options.c_str(), kek.empty() ? nullptr : bytes(kek), kek.size(), token, &out, err.out());
    json = out != nullptr ? out : "";
    if (rc == ENVECTOR_OK) {
      EXPECT_NE(out, nullptr);
      EXPECT_EQ(envector_string_free(out), ENVECTOR_OK);
    } else {
      EXPECT_EQ(out, nullptr) << "out_result_json written on failure";
    }
    return rc;
  }
};

std::string init_options(const TempDir &dir, const std::string &key_id, const std::string &address,
                         const std::string &extra = "") {
  std::string o = R"({"key_path": ")" + dir.path() + R"(/keys", "key_id": ")" + key_id + "\"" + small_params();
  if (!address.empty()) o += R"(, "address": ")" + address + "\"";
  return o + extra + "}";
}

} // namespace

TEST(Init, CreatesAndRegistersOnce) {
  TempDir dir;
  KeyServer srv(dir.path());
  ASSERT_FALSE(srv.address().empty());

  Init first;
  ASSERT_EQ(first.run(init_options(dir, "idx", srv.address())), ENVECTOR_OK) << first.err.msg();
  EXPECT_NE(first.json.find(R"("key_id":"idx","created":true,"sealed":false,"version":1)"), std::string::npos) << first.json;
  EXPECT_NE(first.json.find(R"("endpoint":{"address":")" + srv.address() + R"(","registered":true,"unloaded":[],"loaded":true})"),
            std::string::npos)
      << first.json;
  EXPECT_NE(first.json.find(R"("registration_info":{)"), std::string::npos) << first.json;
  EXPECT_NE(first.json.find(R"("envector_preset":"IP0")"), std::string::npos) << first.json;
  EXPECT_EQ(first.json.find(kToken), std::string::npos);
  EXPECT_TRUE(fs::exists(dir.path() + "/keys/idx/SecKey.json"));
  EXPECT_TRUE(srv.holds("idx"));
  EXPECT_EQ(srv.stored("idx"), 1u);

  // Again: found, and the server holds it (same SHA-256): nothing sent, loaded already.
  Init again;
  ASSERT_EQ(again.run(init_options(dir, "idx", srv.address())), ENVECTOR_OK) << again.err.msg();
  EXPECT_NE(again.json.find(R"("created":false)"), std::string::npos) << again.json;
  EXPECT_NE(again.json.find(R"("registered":false,"unloaded":[],"loaded":false)"), std::string::npos) << again.json;
  EXPECT_EQ(count(srv.log(), "register_key"), 1u) << srv.log();

  // The same digest in both results.
  auto sha = [](const std::string &j) {
    size_t at = j.find(R"("eval_key_sha256":")");
    return at == std::string::npos ? std::string() : j.substr(at + 19, 64);
  };
  EXPECT_EQ(sha(first.json).size(), 64u);
  EXPECT_EQ(sha(first.json), sha(again.json));

  // The token from a file.
  write_file(dir.path() + "/tok", std::string(kToken) + "\n");
  Init from_file;
  ASSERT_EQ(from_file.run(init_options(dir, "idx", srv.address(), R"(, "token_file": ")" + dir.path() + R"(/tok")"), nullptr),
            ENVECTOR_OK)
      << from_file.err.msg();
}

TEST(Init, WithoutAddressOnlyTheStore) {
  TempDir dir;
  Init r;
  ASSERT_EQ(r.run(init_options(dir, "local", ""), nullptr), ENVECTOR_OK) << r.err.msg();
  EXPECT_NE(r.json.find(R"("created":true)"), std::string::npos) << r.json;
  EXPECT_NE(r.json.find(R"("endpoint":null)"), std::string::npos) << r.json;
  EXPECT_TRUE(fs::exists(dir.path() + "/keys/local/EvalKey.json"));
}

TEST(Init, WrongTokenUndoesTheKeySetItMade) {
  TempDir dir;
  KeyServer srv(dir.path());
  Init r;
  ASSERT_EQ(r.run(init_options(dir, "k", srv.address()), "not-the-token"), ENVECTOR_ERR_AUTH);
  EXPECT_EQ(r.err.code(), ENVECTOR_ERR_AUTH);
  EXPECT_NE(r.err.msg().find("envector_init: init: key set \"k\" was made by this call"), std::string::npos) << r.err.msg();
  EXPECT_NE(r.err.msg().find("deleted from the store again"), std::string::npos) << r.err.msg();
  EXPECT_NE(r.err.msg().find("the bearer token is not accepted"), std::string::npos) << r.err.msg();
  EXPECT_EQ(r.err.msg().find("not-the-token"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir.path() + "/keys/k"));

  // A key set found is kept.
  Init make;
  ASSERT_EQ(make.run(init_options(dir, "k", ""), nullptr), ENVECTOR_OK) << make.err.msg();
  Init again;
  ASSERT_EQ(again.run(init_options(dir, "k", srv.address()), "not-the-token"), ENVECTOR_ERR_AUTH);
  EXPECT_EQ(again.err.msg().find("deleted"), std::string::npos) << again.err.msg();
  EXPECT_TRUE(fs::exists(dir.path() + "/keys/k/SecKey.json"));
  EXPECT_EQ(srv.stored("k"), 0u);
}

TEST(Init, AutoKeySetupFalseOnAMissingSet) {
  TempDir dir;
  Init r;
  ASSERT_EQ(r.run(init_options(dir, "missing", "", R"(, "auto_key_setup": false)"), nullptr), ENVECTOR_ERR_NOT_FOUND);
  EXPECT_NE(r.err.msg().find("auto key setup is off, so none is made: create it first"), std::string::npos) << r.err.msg();
  EXPECT_FALSE(fs::exists(dir.path() + "/keys/missing"));
}

TEST(Init, SealedKeySetNeedsItsKEK) {
  TempDir dir;
  const std::string kek(32, '\x5a'), wrong(32, '\x17');
  Init made;
  ASSERT_EQ(made.run(init_options(dir, "s", ""), nullptr, kek), ENVECTOR_OK) << made.err.msg();
  EXPECT_NE(made.json.find(R"("created":true,"sealed":true)"), std::string::npos) << made.json;
  EXPECT_NE(read_file(dir.path() + "/keys/s/SecKey.json").find("AES-KEK"), std::string::npos);

  Init w;
  EXPECT_EQ(w.run(init_options(dir, "s", ""), nullptr, wrong), ENVECTOR_ERR_AUTH) << w.err.msg();
  Init none;
  EXPECT_EQ(none.run(init_options(dir, "s", ""), nullptr), ENVECTOR_ERR_INVALID_ARGUMENT);
  EXPECT_NE(none.err.msg().find("are sealed: give the KEK"), std::string::npos) << none.err.msg();
  Init ok;
  ASSERT_EQ(ok.run(init_options(dir, "s", ""), nullptr, kek), ENVECTOR_OK) << ok.err.msg();
  EXPECT_NE(ok.json.find(R"("created":false,"sealed":true)"), std::string::npos) << ok.json;

  // The KEK from a file (seal_kek_path), as envector_keygen reads it.
  write_file(dir.path() + "/kek", kek);
  Init file;
  ASSERT_EQ(file.run(init_options(dir, "s", "", R"(, "seal_mode": "aes", "seal_kek_path": ")" + dir.path() + R"(/kek")"), nullptr),
            ENVECTOR_OK)
      << file.err.msg();
}

TEST(Init, Misuse) {
  TempDir dir;
  char *out = reinterpret_cast<char *>(0x1);
  Err err;
  EXPECT_EQ(envector_init(nullptr, nullptr, 0, nullptr, &out, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(envector_init(init_options(dir, "k", "").c_str(), nullptr, 0, nullptr, nullptr, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT);
  EXPECT_NE(err.msg().find("out_result_json is NULL"), std::string::npos) << err.msg();
  EXPECT_EQ(envector_init(init_options(dir, "k", "").c_str(), nullptr, 5, nullptr, &out, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT);
  EXPECT_NE(err.msg().find("kek is NULL but kek_len is 5"), std::string::npos) << err.msg();
  EXPECT_EQ(out, reinterpret_cast<char *>(0x1)) << "out_result_json written on failure";

  struct Case {
    std::string options;
    const char *token;
    std::string kek, message;
  };
  for (const Case &c : std::vector<Case>{
           {init_options(dir, "k", ""), kToken, "", "a token is given but no address"},
           {init_options(dir, "k", "", R"(, "tls": true)"), nullptr, "", "tls is given but no address"},
           {init_options(dir, "k", "127.0.0.1:1", R"(, "token_file": "/tmp/t")"), kToken, "", "token or as token_file, not both"},
           {init_options(dir, "k", "https://x:1"), nullptr, "", "scheme \"https\""},
           {init_options(dir, "k", "127.0.0.1:1"), "two words", "", "not visible ASCII"},
           {init_options(dir, "k", "", R"(, "seal_mode": "aes")"), nullptr, "", "seal_mode \"aes\" needs the KEK"},
           {init_options(dir, "k", "", R"(, "seal_mode": "none")"), nullptr, std::string(32, 'k'), "seal_mode is \"none\" but a KEK is given"},
           {init_options(dir, "k", "", R"(, "auto_key_setup": "yes")"), nullptr, "", "auto_key_setup must be true or false"},
           {init_options(dir, "k", "127.0.0.1:1", R"(, "timeout_seconds": -1)"), nullptr, "", "timeout_seconds must be a positive number"},
           {init_options(dir, "k", "", R"(, "reason": "x")"), nullptr, "", "reason is not read by envector_init"},
           {R"({"key_path": ")" + dir.path() + R"("})", nullptr, "", "key_id is required"},
       }) {
    Init r;
    EXPECT_EQ(r.run(c.options, c.token, c.kek), ENVECTOR_ERR_INVALID_ARGUMENT) << c.options;
    EXPECT_NE(r.err.msg().find(c.message), std::string::npos) << c.options << ": " << r.err.msg();
    EXPECT_EQ(r.err.msg().find(kToken), std::string::npos) << r.err.msg();
  }
  EXPECT_FALSE(fs::exists(dir.path() + "/keys/k"));

  // Nothing listens: REMOTE after the timeout, and the key set made is deleted again.
  Init r;
  EXPECT_EQ(r.run(init_options(dir, "k", "127.0.0.1:1", R"(, "timeout_seconds": 2)")), ENVECTOR_ERR_REMOTE) << r.err.msg();
  EXPECT_NE(r.err.msg().find("cannot reach the server"), std::string::npos) << r.err.msg();
  EXPECT_FALSE(fs::exists(dir.path() + "/keys/k"));
}
