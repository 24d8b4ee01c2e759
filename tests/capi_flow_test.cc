// The whole flow through the C ABI: generate, read blobs, rebuild from blobs, seal,
// unseal, verify, save and load in the local store, list, delete; and the CLI entry.
#include "test_util.h"

#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <fstream>

using namespace envtest;

namespace {

// A KEK in the three accepted forms.
struct Kek {
  std::string raw, hex, b64;
};

Kek make_kek() {
  Kek k;
  for (int i = 0; i < 32; i++) k.raw.push_back(static_cast<char>(i * 7 + 3));
  static const char *digits = "0123456789abcdef";
  for (unsigned char c : k.raw) {
    k.hex.push_back(digits[c >> 4]);
    k.hex.push_back(digits[c & 15]);
  }
  static const char *b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto *u = bytes(k.raw);
  for (size_t i = 0; i < 30; i += 3) {
    uint32_t v = (u[i] << 16) | (u[i + 1] << 8) | u[i + 2];
    for (int s = 18; s >= 0; s -= 6) k.b64.push_back(b64[(v >> s) & 63]);
  }
  uint32_t v = (u[30] << 16) | (u[31] << 8);
  k.b64 += std::string{b64[(v >> 18) & 63], b64[(v >> 12) & 63], b64[(v >> 6) & 63], '='};
  return k;
}

} // namespace

TEST(Version, MatchesHeader) {
  EXPECT_STREQ(envector_version(), ENVECTOR_VERSION_STRING);
}

TEST(Flow, Whole) {
  Err err;
  const Kek kek = make_kek();

  // Generate.
  KeySet ks;
  ASSERT_EQ(envector_keygen(opts("flow-1").c_str(), ks.out(), err.out()), ENVECTOR_OK) << err.msg();
  EXPECT_EQ(roles(ks.get()), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(key_id(ks.get()), "flow-1");
  int sealed = -1;
  ASSERT_EQ(envector_keyset_sealed(ks.get(), &sealed, err.out()), ENVECTOR_OK);
  EXPECT_EQ(sealed, 0);

  // Read blobs.
  std::vector<std::string> plain;
  const char *formats[] = {"seckey", "enckey", "evalkey", "metadatakey"};
  for (int r = 0; r < ENVECTOR_ROLE_COUNT; r++) {
    plain.push_back(blob(ks.get(), r));
    EXPECT_EQ(plain[r].front(), '{');
    EXPECT_NE(plain[r].find("\"kid\":\"flow-1\""), std::string::npos);
    EXPECT_NE(plain[r].find(std::string("\"name\":\"") + formats[r] + "\""), std::string::npos);
  }

  // All blobs in one call: the same bytes as one role at a time.
  {
    uint8_t *data[ENVECTOR_ROLE_COUNT] = {};
    size_t lens[ENVECTOR_ROLE_COUNT] = {};
    ASSERT_EQ(envector_keyset_blobs(ks.get(), data, lens, err.out()), ENVECTOR_OK) << err.msg();
    for (int r = 0; r < ENVECTOR_ROLE_COUNT; r++) {
      ASSERT_NE(data[r], nullptr) << r;
      EXPECT_EQ(std::string(reinterpret_cast<const char *>(data[r]), lens[r]), plain[r]) << r;
      EXPECT_EQ(envector_bytes_free(data[r]), ENVECTOR_OK);
    }
  }

  // Rebuild from blobs: the same bytes come back.
  {
    int rs[] = {0, 1, 2, 3};
    const uint8_t *bs[] = {bytes(plain[0]), bytes(plain[1]), bytes(plain[2]), bytes(plain[3])};
    size_t ls[] = {plain[0].size(), plain[1].size(), plain[2].size(), plain[3].size()};
    KeySet rebuilt;
    ASSERT_EQ(envector_keyset_from_blobs("flow-1", rs, bs, ls, 4, rebuilt.out(), err.out()),
              ENVECTOR_OK)
        << err.msg();
    for (int r = 0; r < ENVECTOR_ROLE_COUNT; r++) EXPECT_EQ(blob(rebuilt.get(), r), plain[r]);
    ASSERT_EQ(envector_keyset_verify(rebuilt.get(), nullptr, 0, err.out()), ENVECTOR_OK) << err.msg();
  }

  // Seal (raw KEK): secret roles change, public ones do not.
  KeySet sealedks;
  ASSERT_EQ(envector_seal(ks.get(), bytes(kek.raw), kek.raw.size(), sealedks.out(), err.out()),
            ENVECTOR_OK)
      << err.msg();
  ASSERT_EQ(envector_keyset_sealed(sealedks.get(), &sealed, err.out()), ENVECTOR_OK);
  EXPECT_EQ(sealed, 1);
  std::vector<std::string> sealedBlobs;
  for (int r = 0; r < ENVECTOR_ROLE_COUNT; r++) sealedBlobs.push_back(blob(sealedks.get(), r));
  for (int r : {ENVECTOR_ROLE_SECKEY, ENVECTOR_ROLE_METADATAKEY}) {
    EXPECT_NE(sealedBlobs[r], plain[r]);
    EXPECT_NE(sealedBlobs[r].find(r == ENVECTOR_ROLE_SECKEY ? "\"alg\":\"AES-KEK\"" : "\"alg\":\"AES-256-GCM\""), std::string::npos);
    EXPECT_NE(key_data(sealedBlobs[r]), key_data(plain[r]));
  }
  for (int r : {ENVECTOR_ROLE_ENCKEY, ENVECTOR_ROLE_EVALKEY}) EXPECT_EQ(sealedBlobs[r], plain[r]);
  // The original handle is unchanged.
  EXPECT_EQ(blob(ks.get(), ENVECTOR_ROLE_SECKEY), plain[0]);

  // Unseal (hex KEK, with a newline): byte-identical to the plain key set.
  {
    std::string hexnl = kek.hex + "\n";
    KeySet unsealed;
    ASSERT_EQ(envector_unseal(sealedks.get(), bytes(hexnl), hexnl.size(), unsealed.out(), err.out()),
              ENVECTOR_OK)
        << err.msg();
    for (int r = 0; r < ENVECTOR_ROLE_COUNT; r++) EXPECT_EQ(blob(unsealed.get(), r), plain[r]);
  }

  // Verify: unsealed without a KEK, sealed with one (base64 form), sealed without one fails.
  EXPECT_EQ(envector_keyset_verify(ks.get(), nullptr, 0, err.out()), ENVECTOR_OK) << err.msg();
  EXPECT_EQ(envector_keyset_verify(sealedks.get(), bytes(kek.b64), kek.b64.size(), err.out()),
            ENVECTOR_OK)
      << err.msg();
  EXPECT_EQ(envector_keyset_verify(sealedks.get(), nullptr, 0, err.out()),
            ENVECTOR_ERR_INVALID_ARGUMENT);
  EXPECT_NE(err.msg().find("KEK"), std::string::npos) << err.msg();

  // Save, load, list, delete in the local store.
  TempDir dir;
  Store st;
  ASSERT_EQ(envector_store_open(dir.store_options().c_str(), st.out(), err.out()), ENVECTOR_OK)
      << err.msg();
  int exists = -1;
  ASSERT_EQ(envector_store_exists(st.get(), "flow-1", &exists, err.out()), ENVECTOR_OK);
  EXPECT_EQ(exists, 0);
  EXPECT_EQ(list(st.get()), std::vector<std::string>{});
  ASSERT_EQ(envector_store_save(st.get(), sealedks.get(), err.out()), ENVECTOR_OK) << err.msg();
  ASSERT_EQ(envector_store_exists(st.get(), "flow-1", &exists, err.out()), ENVECTOR_OK);
  EXPECT_EQ(exists, 1);
  struct stat sb;
  ASSERT_EQ(stat((dir.path() + "/flow-1/SecKey.json").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0600u);

  {
    KeySet loaded;
    ASSERT_EQ(envector_store_load(st.get(), "flow-1", nullptr, 0, loaded.out(), err.out()),
              ENVECTOR_OK)
        << err.msg();
    EXPECT_EQ(roles(loaded.get()), (std::vector<int>{0, 1, 2, 3}));
    for (int r = 0; r < ENVECTOR_ROLE_COUNT; r++) EXPECT_EQ(blob(loaded.get(), r), sealedBlobs[r]);
    EXPECT_EQ(envector_keyset_verify(loaded.get(), bytes(kek.hex), kek.hex.size(), err.out()),
              ENVECTOR_OK)
        << err.msg();
  }
  {
    int want[] = {ENVECTOR_ROLE_EVALKEY, ENVECTOR_ROLE_ENCKEY};
    KeySet pub;
    ASSERT_EQ(envector_store_load(st.get(), "flow-1", want, 2, pub.out(), err.out()), ENVECTOR_OK)
        << err.msg();
    EXPECT_EQ(roles(pub.get()), (std::vector<int>{1, 2}));
    EXPECT_EQ(blob(pub.get(), ENVECTOR_ROLE_EVALKEY), plain[2]);
  }

  KeySet second;
  ASSERT_EQ(envector_keygen(opts("flow-0", R"(, "metadata_encryption": false)").c_str(),
                            second.out(), err.out()),
            ENVECTOR_OK)
      << err.msg();
  ASSERT_EQ(envector_store_save(st.get(), second.get(), err.out()), ENVECTOR_OK) << err.msg();
  EXPECT_EQ(list(st.get()), (std::vector<std::string>{"flow-0", "flow-1"}));

  ASSERT_EQ(envector_store_delete(st.get(), "flow-1", 0, err.out()), ENVECTOR_OK) << err.msg();
  ASSERT_EQ(envector_store_exists(st.get(), "flow-1", &exists, err.out()), ENVECTOR_OK);
  EXPECT_EQ(exists, 0);
  EXPECT_EQ(list(st.get()), std::vector<std::string>{"flow-0"});
  EXPECT_EQ(envector_store_delete(st.get(), "flow-1", 0, err.out()), ENVECTOR_ERR_NOT_FOUND);
  ASSERT_EQ(envector_store_delete(st.get(), "flow-0", ENVECTOR_DELETE_IMMEDIATE, err.out()),
            ENVECTOR_OK)
      << err.msg();
  EXPECT_EQ(list(st.get()), std::vector<std::string>{});
}

TEST(Flow, OptionsShapeTheKeySet) {
  // Another preset and eval mode than opts() gives (small and fast), in upper case.
  Err err;
  KeySet ks;
  ASSERT_EQ(envector_keygen(R"({"key_id": "shape", "preset": "IP3", "eval_mode": "RMP",
                                "dim_list": [64, 32, 64], "metadata_encryption": false,
                                "seal_mode": "none"})",
                            ks.out(), err.out()),
            ENVECTOR_OK)
      << err.msg();
  EXPECT_EQ(roles(ks.get()), (std::vector<int>{0, 1, 2}));
  std::string enc = blob(ks.get(), ENVECTOR_ROLE_ENCKEY);
  EXPECT_NE(enc.find("\"preset\":\"IP3\""), std::string::npos) << enc.substr(0, 1000);
  EXPECT_NE(enc.find("\"Q\":1073692673"), std::string::npos);
  EXPECT_NE(enc.find("\"eval_mode\":\"RMP\""), std::string::npos);
  EXPECT_NE(enc.find("\"dims\":\"32,64\""), std::string::npos);
  EXPECT_NE(enc.find("\"key_format\":\"evi\""), std::string::npos);

  // null means the default, each checked without making a default (ip3, mm32) key set:
  // preset null is ip3, metadata_encryption null is true ...
  ASSERT_EQ(envector_keygen(R"({"key_id": "nulls", "preset": null, "eval_mode": "rmp",
                                "dim_list": [32], "seed": null, "metadata_encryption": null})",
                            ks.out(), err.out()),
            ENVECTOR_OK)
      << err.msg();
  EXPECT_EQ(roles(ks.get()).size(), 4u);
  EXPECT_NE(blob(ks.get(), ENVECTOR_ROLE_EVALKEY).find("\"preset\":\"IP3\""), std::string::npos);
  // ... eval_mode null is the preset's default (rmp with ip0), dim_list null all dims.
  ASSERT_EQ(envector_keygen(R"({"key_id": "nulls", "preset": "ip0", "eval_mode": null,
                                "dim_list": [32]})",
                            ks.out(), err.out()),
            ENVECTOR_OK)
      << err.msg();
  EXPECT_NE(blob(ks.get(), ENVECTOR_ROLE_EVALKEY).find("\"eval_mode\":\"RMP\""), std::string::npos);
  ASSERT_EQ(envector_keygen(R"({"key_id": "nulls", "preset": "ip0", "eval_mode": "single",
                                "dim_list": null})",
                            ks.out(), err.out()),
            ENVECTOR_OK)
      << err.msg();
  EXPECT_NE(blob(ks.get(), ENVECTOR_ROLE_EVALKEY).find("\"dims\":\"32,64,128,256,512,1024,2048,4096\""),
            std::string::npos);
}

TEST(Flow, AnotherEnvectorPresetGeneratesAndVerifies) {
  // ip2 with flat, end to end: made, saved, loaded and proven.
  TempDir dir;
  Err err;
  KeySet ks;
  ASSERT_EQ(envector_keygen(R"({"key_id": "ip2", "preset": "ip2", "eval_mode": "flat", "dim_list": [32]})",
                            ks.out(), err.out()),
            ENVECTOR_OK)
      << err.msg();
  Store st;
  ASSERT_EQ(envector_store_open(dir.store_options().c_str(), st.out(), err.out()), ENVECTOR_OK);
  ASSERT_EQ(envector_store_save(st.get(), ks.get(), err.out()), ENVECTOR_OK) << err.msg();
  KeySet loaded;
  ASSERT_EQ(envector_store_load(st.get(), "ip2", nullptr, 0, loaded.out(), err.out()), ENVECTOR_OK)
      << err.msg();
  EXPECT_EQ(envector_keyset_verify(loaded.get(), nullptr, 0, err.out()), ENVECTOR_OK) << err.msg();
  for (int r = 0; r < ENVECTOR_ROLE_COUNT; r++) {
    std::string b = blob(loaded.get(), r);
    for (const char *want : {"\"preset\":\"IP2\"", "\"eval_mode\":\"FLAT\"", "\"key_format\":\"evi\""})
      EXPECT_NE(b.find(want), std::string::npos) << "role " << r << ": " << want;
  }
}

TEST(Flow, SeedGivesTheSameKeys) {
  Err err;
  const std::string seed = R"(, "seed": ")" + std::string(128, 'a') + "\"";
  KeySet a, b;
  ASSERT_EQ(envector_keygen(opts("seeded", seed).c_str(), a.out(), err.out()), ENVECTOR_OK) << err.msg();
  ASSERT_EQ(envector_keygen(opts("seeded", seed).c_str(), b.out(), err.out()), ENVECTOR_OK) << err.msg();
  for (int r = 0; r < ENVECTOR_ROLE_COUNT; r++) {
    std::string ka = key_data(blob(a.get(), r)), kb = key_data(blob(b.get(), r));
    EXPECT_FALSE(ka.empty());
    EXPECT_EQ(ka, kb) << "role " << r;
  }
}

TEST(Flow, OneOptionsObjectForKeygenAndStore) {
  // Every function takes the same object and reads the keys it needs.
  TempDir dir;
  std::string all = R"({"key_id": "all-keys", "preset": "ip0", "eval_mode": "single", "dim_list": [32],
      "metadata_encryption": true, "seal_mode": "none", "key_store": "local",
      "key_path": ")" + dir.path() + R"(", "region_name": "eu-west-1",
      "bucket_name": "b", "secret_prefix": ""})";
  Err err;
  KeySet ks;
  ASSERT_EQ(envector_keygen(all.c_str(), ks.out(), err.out()), ENVECTOR_OK) << err.msg();
  Store st;
  ASSERT_EQ(envector_store_open(all.c_str(), st.out(), err.out()), ENVECTOR_OK) << err.msg();
  ASSERT_EQ(envector_store_save(st.get(), ks.get(), err.out()), ENVECTOR_OK) << err.msg();
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/all-keys/EvalKey.json"));
}

TEST(Cli, RunsTheCommandLine) {
  TempDir dir;
  const char *version[] = {"envector-keygen", "--version", nullptr};
  EXPECT_EQ(envector_cli_main(2, const_cast<char *const *>(version)), 0);

  std::string keyPath = dir.path();
  std::vector<std::string> args = {"envector-keygen", "generate", "--key_path", keyPath,
                                   "--key_id", "cli-1", "--preset", "ip0", "--eval_mode", "single",
                                   "--dim", "32", "--quiet"};
  std::vector<char *> argv;
  for (auto &a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ASSERT_EQ(envector_cli_main(static_cast<int>(args.size()), argv.data()), 0);

  Err err;
  Store st;
  ASSERT_EQ(envector_store_open(dir.store_options().c_str(), st.out(), err.out()), ENVECTOR_OK);
  KeySet ks;
  ASSERT_EQ(envector_store_load(st.get(), "cli-1", nullptr, 0, ks.out(), err.out()), ENVECTOR_OK)
      << err.msg();
  EXPECT_EQ(envector_keyset_verify(ks.get(), nullptr, 0, err.out()), ENVECTOR_OK) << err.msg();

  const char *bad[] = {"envector-keygen", "frobnicate", nullptr};
  EXPECT_EQ(envector_cli_main(2, const_cast<char *const *>(bad)), 2);
  EXPECT_EQ(envector_cli_main(0, nullptr), 2);
  const char *holes[] = {"envector-keygen", nullptr, nullptr};
  EXPECT_EQ(envector_cli_main(2, const_cast<char *const *>(holes)), 2);
}

TEST(Flow, KeygenSealsWithKEKFile) {
  TempDir dir;
  const Kek kek = make_kek();
  const std::string path = dir.path() + "/kek.b64";
  std::ofstream(path) << kek.b64 << "\n";
  Err err;
  KeySet ks;
  ASSERT_EQ(envector_keygen(opts("sealed-at-birth", R"(, "seal_mode": "aes", "seal_kek_path": ")" +
                                                        path + "\"")
                                .c_str(),
                            ks.out(), err.out()),
            ENVECTOR_OK)
      << err.msg();
  int sealed = 0;
  ASSERT_EQ(envector_keyset_sealed(ks.get(), &sealed, err.out()), ENVECTOR_OK);
  EXPECT_EQ(sealed, 1);
  EXPECT_NE(blob(ks.get(), ENVECTOR_ROLE_SECKEY).find("\"alg\":\"AES-KEK\""), std::string::npos);
  // The KEK in another accepted form unseals it, and the keys belong together.
  KeySet plain;
  ASSERT_EQ(envector_unseal(ks.get(), bytes(kek.raw), kek.raw.size(), plain.out(), err.out()),
            ENVECTOR_OK)
      << err.msg();
  EXPECT_EQ(envector_keyset_verify(plain.get(), nullptr, 0, err.out()), ENVECTOR_OK) << err.msg();

  // A missing KEK file, and one in no accepted form, are refused before any key is made.
  const std::string missing = dir.path() + "/none.kek";
  KeySet none;
  EXPECT_EQ(envector_keygen(opts("k", R"(, "seal_mode": "aes", "seal_kek_path": ")" + missing + "\"")
                                .c_str(),
                            none.out(), err.out()),
            ENVECTOR_ERR_NOT_FOUND);
  EXPECT_NE(err.msg().find(missing), std::string::npos) << err.msg();
  const std::string short_kek = dir.path() + "/short.kek";
  std::ofstream(short_kek) << kek.raw.substr(0, 31);
  EXPECT_EQ(envector_keygen(opts("k", R"(, "seal_mode": "aes", "seal_kek_path": ")" + short_kek + "\"")
                                .c_str(),
                            none.out(), err.out()),
            ENVECTOR_ERR_INVALID_ARGUMENT);
  EXPECT_NE(err.msg().find("a KEK of 31 bytes is not accepted"), std::string::npos) << err.msg();
  EXPECT_EQ(none.get(), nullptr);
}
