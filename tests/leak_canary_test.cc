// A test that leaks on purpose, run only under valgrind by the leak_check_canary ctest
// test (WILL_FAIL): it proves the leak check fails when a buffer from the library is
// never freed.
#include "test_util.h"

using namespace envtest;

namespace {

__attribute__((noinline)) void leak_a_blob(const envector_keyset *ks) {
  uint8_t *data = nullptr;
  size_t len = 0;
  ASSERT_EQ(envector_keyset_blob(ks, ENVECTOR_ROLE_ENCKEY, &data, &len, nullptr), ENVECTOR_OK);
  data = nullptr; // forgotten: never given to envector_bytes_free
}

TEST(LeakCanary, ForgetsABlob) {
  Err err;
  KeySet ks;
  ASSERT_EQ(envector_keygen(opts("canary").c_str(), ks.out(), err.out()), ENVECTOR_OK);
  leak_a_blob(ks.get());
}

} // namespace
