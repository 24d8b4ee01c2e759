// The misuse matrix: every wrong call returns its documented code and a message, leaves
// the out-parameters untouched, and never crashes.
#include "test_util.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

using namespace envtest;

namespace {

// A value the library never writes: out-parameters must still hold it after a failure.
envector_keyset *const kUntouchedKs = reinterpret_cast<envector_keyset *>(uintptr_t{0x5e171e1});
envector_store *const kUntouchedSt = reinterpret_cast<envector_store *>(uintptr_t{0x5e171e1});
uint8_t *const kUntouchedBytes = reinterpret_cast<uint8_t *>(uintptr_t{0x5e171e1});

// A fixture with one live key set (ks), one store (st) in a temp dir, and an error.
class Misuse : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_EQ(envector_keygen(opts("misuse").c_str(), ks.out(), err.out()), ENVECTOR_OK) << err.msg();
    ASSERT_EQ(envector_store_open(dir.store_options().c_str(), st.out(), err.out()), ENVECTOR_OK)
        << err.msg();
  }

  // Expects rc == code, an error with that code whose message holds every part.
  void expect(int rc, int code, std::initializer_list<const char *> parts = {}) {
    EXPECT_EQ(rc, code) << err.msg();
    EXPECT_EQ(err.code(), code);
    std::string m = err.msg();
    for (const char *p : parts) EXPECT_NE(m.find(p), std::string::npos) << "message: " << m << "\nwant: " << p;
  }

  // keygen with options that must fail with code, out untouched.
  void keygen_fails(const std::string &json, int code, std::initializer_list<const char *> parts = {}) {
    envector_keyset *out = kUntouchedKs;
    expect(envector_keygen(json.c_str(), &out, err.out()), code, parts);
    EXPECT_EQ(out, kUntouchedKs);
  }

  TempDir dir;
  Err err;
  KeySet ks;
  Store st;
};

TEST_F(Misuse, NullHandle) {
  uint8_t *data = kUntouchedBytes;
  size_t len = 777;
  expect(envector_keyset_blob(nullptr, 0, &data, &len, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"envector_keyset_blob", "ks is NULL"});
  EXPECT_EQ(data, kUntouchedBytes);
  EXPECT_EQ(len, 777u);
  uint8_t *all[ENVECTOR_ROLE_COUNT] = {kUntouchedBytes, kUntouchedBytes, kUntouchedBytes,
                                       kUntouchedBytes};
  size_t lens[ENVECTOR_ROLE_COUNT] = {7, 7, 7, 7};
  expect(envector_keyset_blobs(nullptr, all, lens, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"envector_keyset_blobs", "ks is NULL"});
  for (int i = 0; i < ENVECTOR_ROLE_COUNT; i++) {
    EXPECT_EQ(all[i], kUntouchedBytes);
    EXPECT_EQ(lens[i], 7u);
  }
  int r[4];
  size_t n = 9;
  expect(envector_keyset_roles(nullptr, r, &n, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT, {"NULL"});
  EXPECT_EQ(n, 9u);
  char *id = nullptr;
  expect(envector_keyset_id(nullptr, &id, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(id, nullptr);
  int sealed = 7;
  expect(envector_keyset_sealed(nullptr, &sealed, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(sealed, 7);
  envector_keyset *out = kUntouchedKs;
  expect(envector_seal(nullptr, reinterpret_cast<const uint8_t *>("k"), 1, &out, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"envector_seal", "ks is NULL"});
  expect(envector_unseal(nullptr, reinterpret_cast<const uint8_t *>("k"), 1, &out, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"envector_unseal"});
  EXPECT_EQ(out, kUntouchedKs);
  expect(envector_keyset_verify(nullptr, nullptr, 0, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT);
  expect(envector_store_save(nullptr, ks.get(), err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"store is NULL"});
  expect(envector_store_save(st.get(), nullptr, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"ks is NULL"});
  expect(envector_store_load(nullptr, "misuse", nullptr, 0, &out, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"store is NULL"});
  EXPECT_EQ(out, kUntouchedKs);
  int exists = 7;
  expect(envector_store_exists(nullptr, "misuse", &exists, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(exists, 7);
  expect(envector_store_delete(nullptr, "misuse", 0, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT);
  char **ids = nullptr;
  expect(envector_store_list(nullptr, &ids, &n, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ids, nullptr);

  // Freeing NULL is a no-op, like free(3).
  EXPECT_EQ(envector_keyset_free(nullptr), ENVECTOR_OK);
  EXPECT_EQ(envector_store_free(nullptr), ENVECTOR_OK);
  EXPECT_EQ(envector_error_free(nullptr), ENVECTOR_OK);
  EXPECT_EQ(envector_bytes_free(nullptr), ENVECTOR_OK);
  EXPECT_EQ(envector_string_free(nullptr), ENVECTOR_OK);
  EXPECT_EQ(envector_string_list_free(nullptr), ENVECTOR_OK);
}

TEST_F(Misuse, FreedHandleAndDoubleFree) {
  envector_keyset *h = ks.release();
  ASSERT_EQ(envector_keyset_free(h), ENVECTOR_OK);
  EXPECT_EQ(envector_keyset_free(h), ENVECTOR_ERR_INVALID_ARGUMENT); // double free: a code, no crash
  uint8_t *data = kUntouchedBytes;
  size_t len = 777;
  expect(envector_keyset_blob(h, 0, &data, &len, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"ks is not a live key set handle: it was freed"});
  EXPECT_EQ(data, kUntouchedBytes);
  EXPECT_EQ(len, 777u);
  expect(envector_store_save(st.get(), h, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT, {"freed"});

  envector_store *s = st.release();
  ASSERT_EQ(envector_store_free(s), ENVECTOR_OK);
  EXPECT_EQ(envector_store_free(s), ENVECTOR_ERR_INVALID_ARGUMENT);
  int exists = 7;
  expect(envector_store_exists(s, "misuse", &exists, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"freed"});
  EXPECT_EQ(exists, 7);
}

TEST_F(Misuse, StaleHandleId) {
  // Ids the library never returned: a number far ahead, and a real pointer.
  auto *never = reinterpret_cast<envector_keyset *>(uintptr_t{0x7fffffff0000});
  int local = 0;
  auto *pointer = reinterpret_cast<envector_keyset *>(&local);
  for (envector_keyset *h : {never, pointer}) {
    int sealed = 7;
    expect(envector_keyset_sealed(h, &sealed, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
           {"not a key set handle this library returned"});
    EXPECT_EQ(sealed, 7);
    EXPECT_EQ(envector_keyset_free(h), ENVECTOR_ERR_INVALID_ARGUMENT);
  }
  EXPECT_EQ(local, 0);
}

TEST_F(Misuse, HandleOfTheWrongType) {
  auto *storeAsKs = reinterpret_cast<envector_keyset *>(st.get());
  int sealed = 7;
  expect(envector_keyset_sealed(storeAsKs, &sealed, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"ks is a store handle, not a key set handle"});
  EXPECT_EQ(envector_keyset_free(storeAsKs), ENVECTOR_ERR_INVALID_ARGUMENT);
  // The store survived the attempt.
  EXPECT_EQ(list(st.get()), std::vector<std::string>{});

  auto *ksAsStore = reinterpret_cast<envector_store *>(ks.get());
  expect(envector_store_save(ksAsStore, ks.get(), err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"store is a key set handle, not a store handle"});
  EXPECT_EQ(envector_store_free(ksAsStore), ENVECTOR_ERR_INVALID_ARGUMENT);

  // An error is not a key set, and a key set is not an error.
  expect(envector_keyset_sealed(reinterpret_cast<envector_keyset *>(err.get()), &sealed, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(envector_error_code(reinterpret_cast<envector_error *>(ks.get())),
            ENVECTOR_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(envector_error_free(reinterpret_cast<envector_error *>(ks.get())),
            ENVECTOR_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(roles(ks.get()).size(), 4u);
}

TEST_F(Misuse, NullOutPointer) {
  expect(envector_keygen(opts("x").c_str(), nullptr, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"out is NULL"});
  size_t len = 0;
  uint8_t *data = nullptr;
  expect(envector_keyset_blob(ks.get(), 0, nullptr, &len, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"NULL"});
  expect(envector_keyset_blob(ks.get(), 0, &data, nullptr, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(data, nullptr);
  uint8_t *all[ENVECTOR_ROLE_COUNT] = {};
  size_t lens[ENVECTOR_ROLE_COUNT] = {};
  expect(envector_keyset_blobs(ks.get(), nullptr, lens, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"out_data or out_lens is NULL"});
  expect(envector_keyset_blobs(ks.get(), all, nullptr, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT);
  for (uint8_t *p : all) EXPECT_EQ(p, nullptr);
  size_t n = 0;
  int r[4];
  expect(envector_keyset_roles(ks.get(), nullptr, &n, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT);
  expect(envector_keyset_roles(ks.get(), r, nullptr, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT);
  expect(envector_keyset_id(ks.get(), nullptr, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"out_id is NULL"});
  expect(envector_keyset_sealed(ks.get(), nullptr, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT);
  const std::string kek(32, 'k');
  expect(envector_seal(ks.get(), bytes(kek), kek.size(), nullptr, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"out is NULL"});
  expect(envector_unseal(ks.get(), bytes(kek), kek.size(), nullptr, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT);
  expect(envector_store_open(dir.store_options().c_str(), nullptr, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"out is NULL"});
  expect(envector_store_load(st.get(), "misuse", nullptr, 0, nullptr, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT);
  expect(envector_store_exists(st.get(), "misuse", nullptr, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT);
  char **ids = nullptr;
  expect(envector_store_list(st.get(), nullptr, &n, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT);
  expect(envector_store_list(st.get(), &ids, nullptr, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ids, nullptr);

  // NULL inputs.
  envector_keyset *out = kUntouchedKs;
  expect(envector_keygen(nullptr, &out, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"options_json is NULL"});
  envector_store *sout = kUntouchedSt;
  expect(envector_store_open(nullptr, &sout, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(sout, kUntouchedSt);
  expect(envector_store_load(st.get(), nullptr, nullptr, 0, &out, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"key_id is NULL"});
  expect(envector_store_delete(st.get(), nullptr, 0, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT);
  expect(envector_seal(ks.get(), nullptr, 32, &out, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"kek is NULL"});
  expect(envector_keyset_verify(ks.get(), nullptr, 32, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"kek is NULL"});
  EXPECT_EQ(out, kUntouchedKs);
}

TEST_F(Misuse, NoErrorOutParameter) {
  // err = NULL: the code alone, and nothing to free.
  envector_keyset *out = kUntouchedKs;
  EXPECT_EQ(envector_keygen("{", &out, nullptr), ENVECTOR_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(envector_store_load(st.get(), "absent", nullptr, 0, &out, nullptr), ENVECTOR_ERR_NOT_FOUND);
  EXPECT_EQ(out, kUntouchedKs);
  EXPECT_EQ(envector_keyset_verify(ks.get(), nullptr, 0, nullptr), ENVECTOR_OK);
}

TEST_F(Misuse, InvalidUtf8) {
  keygen_fails("{\"key_id\": \"k\xff\"}", ENVECTOR_ERR_INVALID_ARGUMENT, {"not valid UTF-8"});
  keygen_fails("{\"key_id\": \"k\xc3\"}", ENVECTOR_ERR_INVALID_ARGUMENT, {"not valid UTF-8"});
  envector_keyset *out = kUntouchedKs;
  expect(envector_store_load(st.get(), "k\xfe", nullptr, 0, &out, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"key_id is not valid UTF-8"});
  EXPECT_EQ(out, kUntouchedKs);
  envector_store *sout = kUntouchedSt;
  expect(envector_store_open("{\"key_path\": \"\xff\"}", &sout, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"UTF-8"});
  EXPECT_EQ(sout, kUntouchedSt);
}

TEST_F(Misuse, InvalidJson) {
  for (const char *bad : {"", "   ", "{", "{\"key_id\": }", "{\"key_id\": \"k\",}", "{'key_id': 'k'}",
                          "{\"key_id\": \"k\"} {}", "{\"key_id\": \"k\"} x"}) {
    keygen_fails(bad, ENVECTOR_ERR_INVALID_ARGUMENT, {"envector_keygen: options: invalid JSON"});
  }
  for (const char *notObject : {"[1]", "null", "\"key_id\"", "42"}) {
    keygen_fails(notObject, ENVECTOR_ERR_INVALID_ARGUMENT, {"must be an object"});
  }
}

TEST_F(Misuse, UnknownOptionKey) {
  keygen_fails(R"({"key_id": "k", "keyid": "x"})", ENVECTOR_ERR_INVALID_ARGUMENT,
               {"unknown key \"keyid\"", "accepted: key_id"});
  envector_store *sout = kUntouchedSt;
  expect(envector_store_open(R"({"key_path": "/tmp", "path": "x"})", &sout, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"envector_store_open", "unknown key \"path\""});
  EXPECT_EQ(sout, kUntouchedSt);
  keygen_fails(R"({"key_id": "k", "key_id": "j"})", ENVECTOR_ERR_INVALID_ARGUMENT,
               {"key \"key_id\" is given twice"});
}

TEST_F(Misuse, OptionOfTheWrongType) {
  keygen_fails(R"({"key_id": 5})", ENVECTOR_ERR_INVALID_ARGUMENT, {"key_id must be a string"});
  keygen_fails(R"({"key_id": "k", "dim_list": "32,64"})", ENVECTOR_ERR_INVALID_ARGUMENT,
               {"dim_list must be an array of integers"});
  keygen_fails(R"({"key_id": "k", "dim_list": [32.5]})", ENVECTOR_ERR_INVALID_ARGUMENT,
               {"dim_list[0] = 32.5 is not an integer"});
  keygen_fails(R"({"key_id": "k", "metadata_encryption": "yes"})", ENVECTOR_ERR_INVALID_ARGUMENT,
               {"metadata_encryption must be true or false"});
  keygen_fails(R"({"key_id": "k", "seal_mode": "rsa"})", ENVECTOR_ERR_INVALID_ARGUMENT,
               {"seal_mode \"rsa\" is not accepted; accepted: none, aes"});
  keygen_fails(R"({"key_id": "k", "key_store": "gcs"})", ENVECTOR_ERR_INVALID_ARGUMENT,
               {"key_store \"gcs\" is not accepted; accepted: local, aws"});
}

TEST_F(Misuse, BadPresetEvalModeDimKeyId) {
  keygen_fails(R"({"key_id": "k", "preset": "ip9"})", ENVECTOR_ERR_INVALID_ARGUMENT,
               {"unknown preset \"ip9\"", "accepted"});
  keygen_fails(R"({"key_id": "k", "eval_mode": "fast"})", ENVECTOR_ERR_INVALID_ARGUMENT,
               {"unknown eval mode \"fast\"", "accepted: mm32 (default with ip3)"});
  keygen_fails(R"({"key_id": "k", "preset": "ip4"})", ENVECTOR_ERR_INVALID_ARGUMENT,
               {"preset ip4 is not supported"});
  // A preset and an eval mode that do not go together: the modes the preset takes.
  keygen_fails(R"({"key_id": "k", "preset": "ip1", "eval_mode": "mm32", "dim_list": [32]})",
               ENVECTOR_ERR_INVALID_ARGUMENT,
               {"eval mode mm32 does not go with preset ip1; accepted with ip1: mm, rmp, flat, mms"});
  keygen_fails(R"({"key_id": "k", "preset": "ip3", "eval_mode": "mm", "dim_list": [32]})",
               ENVECTOR_ERR_INVALID_ARGUMENT,
               {"eval mode mm does not go with preset ip3; accepted with ip3: mm32, rmp, flat, mms32"});
  keygen_fails(R"({"key_id": "k", "eval_mode": "single", "dim_list": [32]})",
               ENVECTOR_ERR_INVALID_ARGUMENT, {"does not go with preset ip3"}); // the default preset
  for (const char *dims : {"[33]", "[16]", "[8192]", "[32, 0]", "[-32]"}) {
    keygen_fails(std::string(R"({"key_id": "k", "dim_list": )") + dims + "}",
                 ENVECTOR_ERR_INVALID_ARGUMENT, {"is not accepted; accepted: powers of two"});
  }
  keygen_fails(R"({"key_id": "k", "dim_list": []})", ENVECTOR_ERR_INVALID_ARGUMENT,
               {"dim_list is empty"});
  keygen_fails(R"({"preset": "ip0"})", ENVECTOR_ERR_INVALID_ARGUMENT, {"key_id is required"});
  keygen_fails(R"({"key_id": "../etc"})", ENVECTOR_ERR_INVALID_ARGUMENT, {"key id \"../etc\" is not accepted"});
  keygen_fails(R"({"key_id": ""})", ENVECTOR_ERR_INVALID_ARGUMENT, {"is not accepted"});
}

TEST_F(Misuse, BadSeedIsNeverQuoted) {
  const std::string secretish = std::string(126, 'c') + "9f"; // 128 chars
  keygen_fails(R"({"key_id": "k", "seed": ")" + secretish.substr(0, 127) + "\"}",
               ENVECTOR_ERR_INVALID_ARGUMENT, {"seed must be a string of exactly 128 hexadecimal"});
  EXPECT_EQ(err.msg().find("ccccccccc"), std::string::npos) << err.msg();
  keygen_fails(R"({"key_id": "k", "seed": ")" + std::string(127, 'c') + "g\"}",
               ENVECTOR_ERR_INVALID_ARGUMENT, {"not hexadecimal"});
  EXPECT_EQ(err.msg().find("ccccccccc"), std::string::npos) << err.msg();
  keygen_fails(R"({"key_id": "k", "seed": 12})", ENVECTOR_ERR_INVALID_ARGUMENT, {"seed must be"});
}

TEST_F(Misuse, SealModeAesRefused) {
  // Without a KEK file keygen refuses to pretend to seal.
  keygen_fails(R"({"key_id": "k", "seal_mode": "aes"})", ENVECTOR_ERR_INVALID_ARGUMENT,
               {"seal_mode \"aes\" needs seal_kek_path", "envector_seal"});
}

TEST_F(Misuse, AwsStoreOptions) {
  // Opening makes no network call; bad values are refused before anything is sent.
  envector_store *sout = kUntouchedSt;
  expect(envector_store_open(R"({"key_store": "aws"})", &sout, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"envector_store_open", "no AWS region given"});
  expect(envector_store_open(R"({"key_store": "aws", "region_name": "us-east-1",
                                 "bucket_name": "Not_A_Bucket"})", &sout, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"S3 bucket name \"Not_A_Bucket\" is not accepted"});
  expect(envector_store_open(R"({"key_store": "aws", "region_name": "us east"})", &sout, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"AWS region \"us east\" is not accepted"});
  EXPECT_EQ(sout, kUntouchedSt);
  Store aws;
  ASSERT_EQ(envector_store_open(R"({"key_store": "AWS", "region_name": "us-east-1",
                                    "bucket_name": null, "secret_prefix": ""})",
                                aws.out(), err.out()),
            ENVECTOR_OK)
      << err.msg();
}

TEST_F(Misuse, WrongKek) {
  const std::string kek(32, 'A'), wrong(32, 'B');
  KeySet sealed;
  ASSERT_EQ(envector_seal(ks.get(), bytes(kek), kek.size(), sealed.out(), err.out()), ENVECTOR_OK);
  envector_keyset *out = kUntouchedKs;
  expect(envector_unseal(sealed.get(), bytes(wrong), wrong.size(), &out, err.out()), ENVECTOR_ERR_AUTH,
         {"envector_unseal", "SecKey", "\"misuse\"", "wrong KEK"});
  EXPECT_EQ(err.msg().find("BBBB"), std::string::npos) << err.msg();
  EXPECT_EQ(out, kUntouchedKs);
  expect(envector_keyset_verify(sealed.get(), bytes(wrong), wrong.size(), err.out()), ENVECTOR_ERR_AUTH);

  // KEKs in no accepted form; never truncated.
  for (const std::string &bad : {std::string(31, 'A'), std::string(33, 'A'), std::string(64, 'z'),
                                 std::string(44, '!'), std::string(64, 'a') + "aa", std::string()}) {
    expect(envector_seal(ks.get(), bytes(bad), bad.size(), &out, err.out()),
           ENVECTOR_ERR_INVALID_ARGUMENT, {"accepted: exactly 32 raw bytes"});
  }
  EXPECT_EQ(out, kUntouchedKs);
  // Sealing twice, unsealing what is not sealed.
  expect(envector_seal(sealed.get(), bytes(kek), kek.size(), &out, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"already sealed"});
  expect(envector_unseal(ks.get(), bytes(kek), kek.size(), &out, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"not sealed"});
  EXPECT_EQ(out, kUntouchedKs);
}

TEST_F(Misuse, KekCheck) {
  // envector_kek_check accepts exactly what envector_seal accepts, and refuses the rest
  // with the message envector_seal gives (after the function's name), never the KEK.
  const std::string raw = std::string("\x00\n\xff", 3) + std::string(29, 'r');
  const std::string hex = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";
  const std::string b64 = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
  std::string upper = hex;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  for (const std::string &good : {raw, raw + "\n", std::string(32, '\n'), hex, hex + "\n", upper,
                                  b64, b64 + "\n", std::string("//////////////////////////////////////////8=")}) {
    EXPECT_EQ(envector_kek_check(bytes(good), good.size(), err.out()), ENVECTOR_OK) << err.msg();
    EXPECT_EQ(err.get(), nullptr) << "no error object on success";
    KeySet sealed;
    EXPECT_EQ(envector_seal(ks.get(), bytes(good), good.size(), sealed.out(), err.out()), ENVECTOR_OK)
        << err.msg();
  }
  // A wrong length (raw, or an accepted form cut or lengthened, or with a second newline
  // or a CRLF), bad hex, bad base64 (the URL alphabet, 33 bytes, no padding), empty.
  const std::string bad_hex = std::string(62, 'a') + "zz";
  for (const std::string &bad :
       {std::string(31, 'k'), std::string(33, 'k'), raw + "\r\n", hex.substr(0, 62), hex + "0",
        hex + "\n\n", hex + "\r\n", bad_hex, std::string("__________________________________________8="),
        std::string("AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAh"), b64.substr(0, 43), b64 + "\n\n",
        std::string(44, '!'), std::string()}) {
    expect(envector_kek_check(bytes(bad), bad.size(), err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
           {"envector_kek_check: kek: ", "accepted: exactly 32 raw bytes, 64 hexadecimal characters, or 44 "
                                         "characters of standard base64"});
    std::string check = err.msg().substr(std::strlen("envector_kek_check"));
    EXPECT_EQ(check.find("zz"), std::string::npos) << "the KEK is never in the message: " << check;
    EXPECT_EQ(check.find("____"), std::string::npos) << check;
    EXPECT_EQ(check.find("kkkk"), std::string::npos) << check;
    EXPECT_EQ(check.find("0102"), std::string::npos) << check;
    envector_keyset *out = kUntouchedKs;
    expect(envector_seal(ks.get(), bytes(bad), bad.size(), &out, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(out, kUntouchedKs);
    EXPECT_EQ("envector_seal" + check, err.msg()) << "the same message as envector_seal";
  }
  expect(envector_kek_check(bytes(std::string(62, 'a') + "zz"), 64, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"64 characters that are not all hexadecimal"});
  expect(envector_kek_check(bytes(std::string(31, 'k')), 31, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"a KEK of 31 bytes is not accepted"});
  // NULL, with a length or without; a garbage length; no error out-parameter.
  expect(envector_kek_check(nullptr, 32, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT, {"envector_kek_check: kek is NULL"});
  expect(envector_kek_check(nullptr, 0, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT, {"kek is NULL"});
  expect(envector_kek_check(bytes(hex), SIZE_MAX, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"kek_len", "is not accepted"});
  EXPECT_EQ(envector_kek_check(bytes(bad_hex), bad_hex.size(), nullptr), ENVECTOR_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(envector_kek_check(nullptr, 32, nullptr), ENVECTOR_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(envector_kek_check(bytes(hex), hex.size(), nullptr), ENVECTOR_OK);
}

TEST_F(Misuse, MissingKeyAndRole) {
  envector_keyset *out = kUntouchedKs;
  expect(envector_store_load(st.get(), "absent", nullptr, 0, &out, err.out()), ENVECTOR_ERR_NOT_FOUND,
         {"envector_store_load", "\"absent\""});
  EXPECT_EQ(out, kUntouchedKs);
  expect(envector_store_delete(st.get(), "absent", 0, err.out()), ENVECTOR_ERR_NOT_FOUND);

  KeySet noMeta;
  ASSERT_EQ(envector_keygen(opts("nometa", R"(, "metadata_encryption": false)").c_str(), noMeta.out(),
                            err.out()),
            ENVECTOR_OK);
  uint8_t *data = kUntouchedBytes;
  size_t len = 777;
  expect(envector_keyset_blob(noMeta.get(), ENVECTOR_ROLE_METADATAKEY, &data, &len, err.out()),
         ENVECTOR_ERR_NOT_FOUND, {"MetadataKey"});
  EXPECT_EQ(data, kUntouchedBytes);
  uint8_t *all[ENVECTOR_ROLE_COUNT] = {};
  size_t lens[ENVECTOR_ROLE_COUNT] = {};
  ASSERT_EQ(envector_keyset_blobs(noMeta.get(), all, lens, err.out()), ENVECTOR_OK) << err.msg();
  EXPECT_EQ(all[ENVECTOR_ROLE_METADATAKEY], nullptr); // not held: NULL and 0, not an error
  EXPECT_EQ(lens[ENVECTOR_ROLE_METADATAKEY], 0u);
  for (int r : {ENVECTOR_ROLE_SECKEY, ENVECTOR_ROLE_ENCKEY, ENVECTOR_ROLE_EVALKEY}) {
    EXPECT_NE(all[r], nullptr) << r;
    EXPECT_GT(lens[r], 0u) << r;
    envector_bytes_free(all[r]);
  }
  ASSERT_EQ(envector_store_save(st.get(), noMeta.get(), err.out()), ENVECTOR_OK);
  int want[] = {ENVECTOR_ROLE_METADATAKEY};
  expect(envector_store_load(st.get(), "nometa", want, 1, &out, err.out()), ENVECTOR_ERR_NOT_FOUND,
         {"MetadataKey"});
  EXPECT_EQ(out, kUntouchedKs);

  // A partial key set cannot be verified.
  int pub[] = {ENVECTOR_ROLE_ENCKEY};
  KeySet partial;
  ASSERT_EQ(envector_store_load(st.get(), "nometa", pub, 1, partial.out(), err.out()), ENVECTOR_OK);
  expect(envector_keyset_verify(partial.get(), nullptr, 0, err.out()), ENVECTOR_ERR_NOT_FOUND,
         {"needs SecKey, EncKey and EvalKey"});
}

TEST_F(Misuse, SavingTwice) {
  ASSERT_EQ(envector_store_save(st.get(), ks.get(), err.out()), ENVECTOR_OK) << err.msg();
  KeySet other;
  ASSERT_EQ(envector_keygen(opts("misuse").c_str(), other.out(), err.out()), ENVECTOR_OK);
  expect(envector_store_save(st.get(), other.get(), err.out()), ENVECTOR_ERR_ALREADY_EXISTS,
         {"envector_store_save", "never overwritten"});
  // The first key set is intact.
  KeySet loaded;
  ASSERT_EQ(envector_store_load(st.get(), "misuse", nullptr, 0, loaded.out(), err.out()), ENVECTOR_OK);
  EXPECT_EQ(blob(loaded.get(), ENVECTOR_ROLE_SECKEY), blob(ks.get(), ENVECTOR_ROLE_SECKEY));
}

TEST_F(Misuse, CorruptBlob) {
  std::string enc = blob(ks.get(), ENVECTOR_ROLE_ENCKEY);
  std::string sec = blob(ks.get(), ENVECTOR_ROLE_SECKEY);
  auto from = [&](const char *id, int role, const std::string &b) {
    envector_keyset *out = kUntouchedKs;
    const uint8_t *bs[] = {bytes(b)};
    size_t ls[] = {b.size()};
    int rs[] = {role};
    int rc = envector_keyset_from_blobs(id, rs, bs, ls, 1, &out, err.out());
    if (rc == ENVECTOR_OK) {
      EXPECT_EQ(envector_keyset_free(out), ENVECTOR_OK);
    } else {
      EXPECT_EQ(out, kUntouchedKs);
    }
    return rc;
  };
  ASSERT_EQ(from("misuse", ENVECTOR_ROLE_ENCKEY, enc), ENVECTOR_OK) << err.msg();

  std::string flipped = enc;
  size_t at = flipped.find("\"key_data\":\"") + 20;
  flipped[at] = flipped[at] == 'A' ? 'B' : 'A';
  expect(from("misuse", ENVECTOR_ROLE_ENCKEY, flipped), ENVECTOR_ERR_CORRUPT,
         {"envector_keyset_from_blobs", "does not match its hash"});
  expect(from("misuse", ENVECTOR_ROLE_ENCKEY, enc.substr(0, enc.size() / 2)), ENVECTOR_ERR_CORRUPT);
  expect(from("misuse", ENVECTOR_ROLE_ENCKEY, ""), ENVECTOR_ERR_CORRUPT);
  expect(from("misuse", ENVECTOR_ROLE_ENCKEY, enc + "{}"), ENVECTOR_ERR_CORRUPT);
  // A blob of another role, or another key id.
  expect(from("misuse", ENVECTOR_ROLE_ENCKEY, sec), ENVECTOR_ERR_CORRUPT);
  expect(from("other", ENVECTOR_ROLE_ENCKEY, enc), ENVECTOR_ERR_CORRUPT);

  // A corrupt file in the store.
  ASSERT_EQ(envector_store_save(st.get(), ks.get(), err.out()), ENVECTOR_OK);
  {
    std::ofstream f(dir.path() + "/misuse/EncKey.json", std::ios::trunc);
    f << flipped;
  }
  envector_keyset *out = kUntouchedKs;
  expect(envector_store_load(st.get(), "misuse", nullptr, 0, &out, err.out()), ENVECTOR_ERR_CORRUPT,
         {"EncKey"});
  EXPECT_EQ(out, kUntouchedKs);
}

TEST_F(Misuse, RolesAndCounts) {
  uint8_t *data = kUntouchedBytes;
  size_t len = 777;
  for (int bad : {-1, 4, 1000}) {
    expect(envector_keyset_blob(ks.get(), bad, &data, &len, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
           {"is not a role; accepted: 0 (SecKey)"});
  }
  EXPECT_EQ(data, kUntouchedBytes);
  std::string enc = blob(ks.get(), ENVECTOR_ROLE_ENCKEY);
  const uint8_t *bs[] = {bytes(enc), bytes(enc), nullptr, bytes(enc), bytes(enc)};
  size_t ls[] = {enc.size(), enc.size(), 0, enc.size(), enc.size()};
  int dup[] = {1, 1, 2, 3, 0};
  envector_keyset *out = kUntouchedKs;
  expect(envector_keyset_from_blobs("misuse", dup, bs, ls, 2, &out, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"roles[1]: EncKey is given twice"});
  int holes[] = {1, 2};
  expect(envector_keyset_from_blobs("misuse", holes, bs + 1, ls + 1, 2, &out, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"blobs[1] is NULL"});
  expect(envector_keyset_from_blobs("misuse", dup, bs, ls, 0, &out, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"count is 0"});
  expect(envector_keyset_from_blobs("misuse", dup, bs, ls, 5, &out, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"at most 4 roles"});
  expect(envector_keyset_from_blobs("misuse", nullptr, bs, ls, 1, &out, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"roles is NULL"});
  expect(envector_keyset_from_blobs(nullptr, dup, bs, ls, 1, &out, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"key_id is NULL"});
  int outOfRange[] = {9};
  expect(envector_store_load(st.get(), "misuse", outOfRange, 1, &out, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"roles[0] 9 is not a role"});
  expect(envector_store_load(st.get(), "misuse", nullptr, 2, &out, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"roles is NULL but count is 2"});
  EXPECT_EQ(out, kUntouchedKs);
  expect(envector_store_delete(st.get(), "misuse", 0x10, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"unknown flags 0x10"});
}

TEST_F(Misuse, ErrorObjects) {
  EXPECT_EQ(envector_error_code(nullptr), ENVECTOR_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(envector_error_message(nullptr)).find("invalid envector_error"), std::string::npos);

  envector_error *e = nullptr;
  envector_keyset *out = kUntouchedKs;
  ASSERT_EQ(envector_keygen("{}", &out, &e), ENVECTOR_ERR_INVALID_ARGUMENT);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(envector_error_code(e), ENVECTOR_ERR_INVALID_ARGUMENT);
  EXPECT_STREQ(envector_error_message(e), "envector_keygen: options: key_id is required");
  ASSERT_EQ(envector_error_free(e), ENVECTOR_OK);
  EXPECT_EQ(envector_error_free(e), ENVECTOR_ERR_INVALID_ARGUMENT); // double free
  EXPECT_EQ(envector_error_code(e), ENVECTOR_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(envector_error_message(e)).find("invalid envector_error"), std::string::npos);

  // On success *err is not written.
  envector_error *untouched = reinterpret_cast<envector_error *>(uintptr_t{0x5e171e1});
  EXPECT_EQ(envector_keyset_verify(ks.get(), nullptr, 0, &untouched), ENVECTOR_OK);
  EXPECT_EQ(untouched, reinterpret_cast<envector_error *>(uintptr_t{0x5e171e1}));
}

TEST_F(Misuse, ForeignBuffer) {
  // A buffer the library did not return: refused when the marker says so.
  std::vector<uint8_t> mem(64, 0);
  EXPECT_EQ(envector_bytes_free(mem.data() + 32), ENVECTOR_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(envector_string_free(reinterpret_cast<char *>(mem.data() + 32)), ENVECTOR_ERR_INVALID_ARGUMENT);
}

// A metadata token of a 200 KiB text: a public buffer of ~270 KB, which the library keeps
// for reuse when it is freed (as it keeps EvalKey blobs), made cheaply at any parameters.
char *big_token(const envector_keyset *ks) {
  static const std::string text(200 * 1024, 'x');
  char *token = nullptr;
  Err err;
  EXPECT_EQ(envector_metadata_encrypt(ks, reinterpret_cast<const uint8_t *>(text.data()), text.size(),
                                      nullptr, 0, &token, err.out()),
            ENVECTOR_OK)
      << err.msg();
  return token;
}

TEST_F(Misuse, DoubleFreeOfAReusedBuffer) {
  // Freed, its memory handed out again, freed again: the second free is refused and
  // leaves the buffer now living there alone, however many were made in between.
  char *a = big_token(ks.get());
  ASSERT_NE(a, nullptr);
  ASSERT_GT(std::strlen(a), size_t{256 * 1024});
  ASSERT_EQ(envector_string_free(a), ENVECTOR_OK);
  char *b = big_token(ks.get()); // cut from a's memory, at another address
  ASSERT_NE(b, nullptr);
  const std::string b_text = b;
  EXPECT_NE(b, a);
  EXPECT_EQ(envector_string_free(a), ENVECTOR_ERR_INVALID_ARGUMENT);
  char *c = big_token(ks.get()); // b's memory was not put back for reuse
  ASSERT_NE(c, nullptr);
  const std::string c_text = c;
  EXPECT_NE(c, b);
  EXPECT_EQ(b_text, b); // tokens differ (random IVs): an overwrite would show
  EXPECT_NE(c_text, b_text);
  EXPECT_EQ(envector_bytes_free(reinterpret_cast<uint8_t *>(a)), ENVECTOR_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(envector_string_free(b), ENVECTOR_OK);
  EXPECT_EQ(envector_string_free(b), ENVECTOR_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(c_text, c);
  EXPECT_EQ(envector_string_free(c), ENVECTOR_OK);
  EXPECT_EQ(envector_string_free(c), ENVECTOR_ERR_INVALID_ARGUMENT);

  // Round after round (past the 128 buffers of one size a kept block serves before it
  // is freed for a new one), the buffer freed last never comes back at its old address,
  // and freeing it again is refused.
  char *prev = big_token(ks.get());
  ASSERT_NE(prev, nullptr);
  ASSERT_EQ(envector_string_free(prev), ENVECTOR_OK);
  for (int round = 0; round < 140; round++) {
    char *t = big_token(ks.get());
    ASSERT_NE(t, nullptr);
    const std::string text = t;
    ASSERT_NE(t, prev) << "round " << round;
    ASSERT_EQ(envector_string_free(prev), ENVECTOR_ERR_INVALID_ARGUMENT) << "round " << round;
    ASSERT_EQ(text, t) << "round " << round;
    ASSERT_EQ(envector_string_free(t), ENVECTOR_OK);
    prev = t;
  }
}

TEST_F(Misuse, DoubleFreeOfSmallAndSecretBuffers) {
  // Buffers that are never kept: small strings, secret blobs (zeroed and freed).
  char *id = nullptr;
  ASSERT_EQ(envector_keyset_id(ks.get(), &id, err.out()), ENVECTOR_OK);
  ASSERT_EQ(envector_string_free(id), ENVECTOR_OK);
  EXPECT_EQ(envector_string_free(id), ENVECTOR_ERR_INVALID_ARGUMENT);
  uint8_t *sec = nullptr;
  size_t len = 0;
  ASSERT_EQ(envector_keyset_blob(ks.get(), ENVECTOR_ROLE_SECKEY, &sec, &len, err.out()), ENVECTOR_OK);
  ASSERT_EQ(envector_bytes_free(sec), ENVECTOR_OK);
  EXPECT_EQ(envector_bytes_free(sec), ENVECTOR_ERR_INVALID_ARGUMENT);
  char **ids = nullptr;
  size_t n = 0;
  ASSERT_EQ(envector_store_list(st.get(), &ids, &n, err.out()), ENVECTOR_OK);
  ASSERT_EQ(envector_string_list_free(ids), ENVECTOR_OK);
  EXPECT_EQ(envector_string_list_free(ids), ENVECTOR_ERR_INVALID_ARGUMENT);

  // A pointer into a live buffer is not a buffer: refused, the buffer stays live.
  char *token = big_token(ks.get());
  ASSERT_NE(token, nullptr);
  EXPECT_EQ(envector_string_free(token + 1), ENVECTOR_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(envector_string_free(token + 64), ENVECTOR_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(envector_string_free(token), ENVECTOR_OK);
}

TEST_F(Misuse, DoubleFreesAmongManyLiveBuffers) {
  // A thousand live buffers, freed in a shuffled order, each then freed again: every
  // second free is refused and no other buffer is touched.
  std::vector<char *> ids(1000, nullptr);
  for (char *&id : ids) ASSERT_EQ(envector_keyset_id(ks.get(), &id, err.out()), ENVECTOR_OK);
  std::vector<size_t> order(ids.size());
  for (size_t i = 0; i < order.size(); i++) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(42));
  std::vector<bool> freed(ids.size(), false);
  for (size_t k = 0; k < order.size(); k++) {
    size_t i = order[k];
    ASSERT_STREQ(ids[i], "misuse");
    ASSERT_EQ(envector_string_free(ids[i]), ENVECTOR_OK) << k;
    freed[i] = true;
    ASSERT_EQ(envector_string_free(ids[i]), ENVECTOR_ERR_INVALID_ARGUMENT) << k;
    if (k % 97 == 0) { // the others are all still live and intact
      for (size_t j = 0; j < ids.size(); j++) {
        if (!freed[j]) {
          ASSERT_STREQ(ids[j], "misuse");
        }
      }
    }
  }
}

TEST_F(Misuse, ConcurrentFreesOfOneBuffer) {
  // Threads freeing the same buffer at once: exactly one succeeds.
  for (int round = 0; round < 50; round++) {
    char *token = round % 2 == 0 ? big_token(ks.get()) : nullptr;
    if (token == nullptr) {
      ASSERT_EQ(envector_keyset_id(ks.get(), &token, err.out()), ENVECTOR_OK);
    }
    std::atomic<int> ready{0}, ok{0}, refused{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; t++) {
      threads.emplace_back([&] {
        ready++;
        while (ready.load() < 4) std::this_thread::yield();
        int rc = envector_string_free(token);
        (rc == ENVECTOR_OK ? ok : refused)++;
      });
    }
    for (auto &th : threads) th.join();
    EXPECT_EQ(ok.load(), 1) << "round " << round;
    EXPECT_EQ(refused.load(), 3) << "round " << round;
  }
}

} // namespace
