// Concurrency: eight threads generating, sealing, saving, loading and verifying at once
// through one store, and handles shared (and freed) across threads.
#include "test_util.h"

#include <atomic>
#include <thread>

using namespace envtest;

namespace {

constexpr int kThreads = 8;

TEST(Threads, EightGenerateAndLoadAtOnce) {
  TempDir dir;
  Err err;
  Store st;
  ASSERT_EQ(envector_store_open(dir.store_options().c_str(), st.out(), err.out()), ENVECTOR_OK);
  const std::string kek(32, 'K');

  std::atomic<int> failures{0};
  auto work = [&](int i) {
    auto fail = [&](const char *what, const Err &e) {
      ADD_FAILURE() << "thread " << i << ": " << what << ": " << e.msg();
      failures++;
    };
    Err e;
    std::string id = "thread-" + std::to_string(i);
    KeySet ks, sealed, loaded, unsealed;
    if (envector_keygen(opts(id).c_str(), ks.out(), e.out()) != ENVECTOR_OK) return fail("keygen", e);
    if (envector_seal(ks.get(), bytes(kek), kek.size(), sealed.out(), e.out()) != ENVECTOR_OK)
      return fail("seal", e);
    if (envector_store_save(st.get(), sealed.get(), e.out()) != ENVECTOR_OK) return fail("save", e);
    if (envector_store_load(st.get(), id.c_str(), nullptr, 0, loaded.out(), e.out()) != ENVECTOR_OK)
      return fail("load", e);
    if (envector_unseal(loaded.get(), bytes(kek), kek.size(), unsealed.out(), e.out()) != ENVECTOR_OK)
      return fail("unseal", e);
    for (int r = 0; r < ENVECTOR_ROLE_COUNT; r++) {
      if (blob(unsealed.get(), r) != blob(ks.get(), r)) {
        ADD_FAILURE() << "thread " << i << ": role " << r << " differs after the round trip";
        failures++;
      }
    }
    if (key_id(loaded.get()) != id) failures++;
    if (envector_keyset_verify(loaded.get(), bytes(kek), kek.size(), e.out()) != ENVECTOR_OK)
      return fail("verify", e);
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; i++) threads.emplace_back(work, i);
  for (auto &t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);

  std::vector<std::string> want;
  for (int i = 0; i < kThreads; i++) want.push_back("thread-" + std::to_string(i));
  EXPECT_EQ(list(st.get()), want);
}

TEST(Threads, SameKeyIdFromEightThreadsSavesOnce) {
  TempDir dir;
  Err err;
  Store st;
  ASSERT_EQ(envector_store_open(dir.store_options().c_str(), st.out(), err.out()), ENVECTOR_OK);
  KeySet ks;
  ASSERT_EQ(envector_keygen(opts("contended").c_str(), ks.out(), err.out()), ENVECTOR_OK);
  std::atomic<int> ok{0}, exists{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; i++) {
    threads.emplace_back([&] {
      Err e;
      switch (envector_store_save(st.get(), ks.get(), e.out())) {
      case ENVECTOR_OK: ok++; break;
      case ENVECTOR_ERR_ALREADY_EXISTS: exists++; break;
      default: other++; ADD_FAILURE() << e.msg();
      }
    });
  }
  for (auto &t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(exists.load(), kThreads - 1);
  EXPECT_EQ(other.load(), 0);
}

TEST(Threads, SharedHandleFreedWhileInUse) {
  Err err;
  envector_keyset *shared = nullptr;
  ASSERT_EQ(envector_keygen(opts("shared").c_str(), &shared, err.out()), ENVECTOR_OK);
  const std::string want = blob(shared, ENVECTOR_ROLE_SECKEY);

  std::atomic<bool> start{false};
  std::atomic<int> okCalls{0}, badCalls{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; i++) {
    threads.emplace_back([&] {
      while (!start) std::this_thread::yield();
      for (int n = 0; n < 200; n++) {
        uint8_t *data = nullptr;
        size_t len = 0;
        int rc = envector_keyset_blob(shared, ENVECTOR_ROLE_SECKEY, &data, &len, nullptr);
        if (rc == ENVECTOR_OK) {
          // A call that got the handle sees the whole key, never a wiped one.
          if (std::string(reinterpret_cast<char *>(data), len) != want) wrong++;
          envector_bytes_free(data);
          okCalls++;
        } else if (rc == ENVECTOR_ERR_INVALID_ARGUMENT) {
          badCalls++;
        } else {
          wrong++;
        }
      }
    });
  }
  start = true;
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_EQ(envector_keyset_free(shared), ENVECTOR_OK);
  for (auto &t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(okCalls + badCalls, kThreads * 200);
  EXPECT_EQ(envector_keyset_free(shared), ENVECTOR_ERR_INVALID_ARGUMENT);
}

} // namespace
