// Helpers shared by the C ABI tests.
#ifndef ENVECTOR_TEST_UTIL_H
#define ENVECTOR_TEST_UTIL_H

#include <envector.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace envtest {

// Err owns the error out-parameter of one call: pass err.out(), read code()/msg().
class Err {
public:
  Err() = default;
  Err(const Err &) = delete;
  Err &operator=(const Err &) = delete;
  ~Err() { reset(); }
  envector_error **out() {
    reset();
    return &e_;
  }
  envector_error *get() const { return e_; }
  int code() const { return envector_error_code(e_); }
  std::string msg() const { return envector_error_message(e_); }
  void reset() {
    if (e_ != nullptr) {
      EXPECT_EQ(envector_error_free(e_), ENVECTOR_OK);
    }
    e_ = nullptr;
  }

private:
  envector_error *e_ = nullptr;
};

// The key-set parameters of opts(), chosen by the environment:
//  - by default, a small set: enVector's preset ip0 with eval mode rmp and dim 32 (an
//    EvalKey of 4.7 MB, ~50 ms to make and verify);
//  - ENVECTOR_TEST_SMALL set (ctest sets it for the valgrind leak check, where Go code
//    runs ~50x slower): the smallest, ip0 with eval mode single (a relinearization key
//    only, ~2 ms);
//  - ENVECTOR_TEST_LARGE set: the library's defaults, ip3 with mm32 and dims 32..4096
//    (as enVector's SDK): each key set has a 1.2 GB EvalKey, which the tests read into
//    memory (~20 s and ~3 GB a key set; the thread tests make eight at once), so a run
//    takes many minutes and much memory.
// Tests about other parameters give them explicitly and do not use opts().
inline std::string small_params() {
  if (std::getenv("ENVECTOR_TEST_LARGE") != nullptr) return "";
  if (std::getenv("ENVECTOR_TEST_SMALL") != nullptr)
    return R"(, "preset": "ip0", "eval_mode": "single", "dim_list": [32])";
  return R"(, "preset": "ip0", "eval_mode": "rmp", "dim_list": [32])";
}

inline std::string opts(const std::string &key_id, const std::string &extra = "") {
  return R"({"key_id": ")" + key_id + "\"" + small_params() + extra + "}";
}

// A fresh directory removed at the end of the test.
class TempDir {
public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "envector-test-XXXXXX").string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) == nullptr) std::abort();
    path_ = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string &path() const { return path_; }
  std::string store_options() const { return R"({"key_path": ")" + path_ + "\"}"; }

private:
  std::string path_;
};

// Owns one key set or store handle.
template <typename T, int (*Free)(T *)> class Handle {
public:
  Handle() = default;
  Handle(const Handle &) = delete;
  Handle &operator=(const Handle &) = delete;
  ~Handle() { reset(); }
  T **out() {
    reset();
    return &h_;
  }
  T *get() const { return h_; }
  T *release() {
    T *h = h_;
    h_ = nullptr;
    return h;
  }
  void reset() {
    if (h_ != nullptr) {
      EXPECT_EQ(Free(h_), ENVECTOR_OK);
    }
    h_ = nullptr;
  }

private:
  T *h_ = nullptr;
};
using KeySet = Handle<envector_keyset, envector_keyset_free>;
using Store = Handle<envector_store, envector_store_free>;

// blob copies one role's envelope out of ks; empty on failure (with a test failure).
inline std::string blob(const envector_keyset *ks, int role) {
  uint8_t *data = nullptr;
  size_t len = 0;
  Err err;
  int rc = envector_keyset_blob(ks, role, &data, &len, err.out());
  EXPECT_EQ(rc, ENVECTOR_OK) << err.msg();
  if (rc != ENVECTOR_OK) return "";
  std::string s(reinterpret_cast<const char *>(data), len);
  EXPECT_EQ(envector_bytes_free(data), ENVECTOR_OK);
  return s;
}

inline std::vector<int> roles(const envector_keyset *ks) {
  int r[ENVECTOR_ROLE_COUNT] = {-1, -1, -1, -1};
  size_t n = 0;
  Err err;
  EXPECT_EQ(envector_keyset_roles(ks, r, &n, err.out()), ENVECTOR_OK) << err.msg();
  return std::vector<int>(r, r + n);
}

inline std::string key_id(const envector_keyset *ks) {
  char *id = nullptr;
  Err err;
  EXPECT_EQ(envector_keyset_id(ks, &id, err.out()), ENVECTOR_OK) << err.msg();
  std::string s = id != nullptr ? id : "";
  EXPECT_EQ(envector_string_free(id), ENVECTOR_OK);
  return s;
}

inline std::vector<std::string> list(const envector_store *st) {
  char **ids = nullptr;
  size_t n = 0;
  Err err;
  EXPECT_EQ(envector_store_list(st, &ids, &n, err.out()), ENVECTOR_OK) << err.msg();
  std::vector<std::string> out;
  for (size_t i = 0; ids != nullptr && i < n; i++) out.emplace_back(ids[i]);
  if (ids != nullptr) {
    EXPECT_EQ(ids[n], nullptr);
  }
  EXPECT_EQ(envector_string_list_free(ids), ENVECTOR_OK);
  return out;
}

// The value of "key_data" in an envelope.
inline std::string key_data(const std::string &envelope) {
  const std::string tag = "\"key_data\":\"";
  size_t at = envelope.find(tag);
  if (at == std::string::npos) return "";
  at += tag.size();
  return envelope.substr(at, envelope.find('"', at) - at);
}

inline const uint8_t *bytes(const std::string &s) {
  return reinterpret_cast<const uint8_t *>(s.data());
}

} // namespace envtest

#endif
