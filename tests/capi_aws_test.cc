// The AWS store through the C ABI, against moto in server mode (see moto_env.h): the
// real AWS SDK inside the library talks to it over loopback HTTP.
#include "moto_env.h"
#include "test_util.h"

#include <fstream>

using namespace envtest;

namespace {

const auto *const moto = MotoServer::instance();

const char *const kAwsOptions =
    R"({"key_store": "aws", "region_name": "us-east-1", "bucket_name": "envector-key-storage"})";

class Aws : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(MotoServer::reset());
    ASSERT_TRUE(MotoServer::create_bucket("envector-key-storage"));
    ASSERT_EQ(envector_store_open(kAwsOptions, st.out(), err.out()), ENVECTOR_OK) << err.msg();
  }

  // A KEK file of 64 hex characters in dir.
  std::string kek_file(const TempDir &dir) const {
    std::string path = dir.path() + "/kek.hex";
    std::ofstream(path) << std::string(64, 'a') << "\n";
    return path;
  }

  Err err;
  Store st;
};

} // namespace

TEST_F(Aws, SealedKeySetRoundTrip) {
  TempDir dir;
  const std::string kek = std::string(64, 'a') + "\n";
  KeySet ks;
  ASSERT_EQ(envector_keygen(opts("aws-1", R"(, "seal_mode": "aes", "seal_kek_path": ")" +
                                              kek_file(dir) + "\"")
                                .c_str(),
                            ks.out(), err.out()),
            ENVECTOR_OK)
      << err.msg();
  int sealed = 0;
  ASSERT_EQ(envector_keyset_sealed(ks.get(), &sealed, err.out()), ENVECTOR_OK);
  EXPECT_EQ(sealed, 1);

  ASSERT_EQ(envector_store_save(st.get(), ks.get(), err.out()), ENVECTOR_OK) << err.msg();
  int exists = 0;
  ASSERT_EQ(envector_store_exists(st.get(), "aws-1", &exists, err.out()), ENVECTOR_OK) << err.msg();
  EXPECT_EQ(exists, 1);
  EXPECT_EQ(list(st.get()), std::vector<std::string>{"aws-1"});

  // Never overwritten.
  EXPECT_EQ(envector_store_save(st.get(), ks.get(), err.out()), ENVECTOR_ERR_ALREADY_EXISTS);
  EXPECT_NE(err.msg().find("secret envector/keys/aws-1/sec_blob already exists"), std::string::npos)
      << err.msg();

  // A subset: the public keys only.
  const int pub[] = {ENVECTOR_ROLE_ENCKEY, ENVECTOR_ROLE_EVALKEY};
  KeySet half;
  ASSERT_EQ(envector_store_load(st.get(), "aws-1", pub, 2, half.out(), err.out()), ENVECTOR_OK)
      << err.msg();
  EXPECT_EQ(roles(half.get()), (std::vector<int>{1, 2}));
  EXPECT_EQ(blob(half.get(), ENVECTOR_ROLE_EVALKEY), blob(ks.get(), ENVECTOR_ROLE_EVALKEY));

  // Everything, byte for byte; the keys belong together under the KEK, and unseal.
  KeySet back;
  ASSERT_EQ(envector_store_load(st.get(), "aws-1", nullptr, 0, back.out(), err.out()), ENVECTOR_OK)
      << err.msg();
  for (int r = 0; r < ENVECTOR_ROLE_COUNT; r++) EXPECT_EQ(blob(back.get(), r), blob(ks.get(), r));
  EXPECT_EQ(envector_keyset_verify(back.get(), bytes(kek), kek.size(), err.out()), ENVECTOR_OK)
      << err.msg();
  KeySet plain;
  ASSERT_EQ(envector_unseal(back.get(), bytes(kek), kek.size(), plain.out(), err.out()), ENVECTOR_OK)
      << err.msg();
  const std::string wrong = std::string(64, 'b');
  EXPECT_EQ(envector_unseal(back.get(), bytes(wrong), wrong.size(), plain.out(), err.out()),
            ENVECTOR_ERR_AUTH);

  // Deleted at once: gone, and the key id free again.
  ASSERT_EQ(envector_store_delete(st.get(), "aws-1", ENVECTOR_DELETE_IMMEDIATE, err.out()),
            ENVECTOR_OK)
      << err.msg();
  ASSERT_EQ(envector_store_exists(st.get(), "aws-1", &exists, err.out()), ENVECTOR_OK);
  EXPECT_EQ(exists, 0);
  EXPECT_EQ(envector_store_load(st.get(), "aws-1", nullptr, 0, back.out(), err.out()),
            ENVECTOR_ERR_NOT_FOUND);
  EXPECT_NE(err.msg().find("secret envector/keys/aws-1/sec_blob"), std::string::npos) << err.msg();
  EXPECT_EQ(envector_store_save(st.get(), ks.get(), err.out()), ENVECTOR_OK) << err.msg();
}

TEST_F(Aws, DeleteWithRecoveryWindowHoldsTheName) {
  KeySet ks;
  ASSERT_EQ(envector_keygen(opts("aws-2").c_str(), ks.out(), err.out()), ENVECTOR_OK) << err.msg();
  ASSERT_EQ(envector_store_save(st.get(), ks.get(), err.out()), ENVECTOR_OK) << err.msg();
  ASSERT_EQ(envector_store_delete(st.get(), "aws-2", 0, err.out()), ENVECTOR_OK) << err.msg();
  EXPECT_EQ(envector_store_save(st.get(), ks.get(), err.out()), ENVECTOR_ERR_ALREADY_EXISTS);
  EXPECT_NE(err.msg().find("scheduled for deletion"), std::string::npos) << err.msg();
  EXPECT_EQ(envector_store_delete(st.get(), "aws-2", 0, err.out()), ENVECTOR_ERR_NOT_FOUND);
  ASSERT_EQ(envector_store_delete(st.get(), "aws-2", ENVECTOR_DELETE_IMMEDIATE, err.out()),
            ENVECTOR_OK)
      << err.msg();
  EXPECT_EQ(envector_store_save(st.get(), ks.get(), err.out()), ENVECTOR_OK) << err.msg();
}

TEST_F(Aws, MissingBucketIsNamed) {
  Store other;
  ASSERT_EQ(envector_store_open(R"({"key_store": "aws", "region_name": "us-east-1",
                                    "bucket_name": "no-such-bucket"})",
                                other.out(), err.out()),
            ENVECTOR_OK)
      << err.msg();
  KeySet ks;
  ASSERT_EQ(envector_keygen(opts("aws-3").c_str(), ks.out(), err.out()), ENVECTOR_OK) << err.msg();
  EXPECT_EQ(envector_store_save(other.get(), ks.get(), err.out()), ENVECTOR_ERR_NOT_FOUND);
  EXPECT_NE(err.msg().find("bucket \"no-such-bucket\" does not exist"), std::string::npos)
      << err.msg();
  EXPECT_NE(err.msg().find("NoSuchBucket"), std::string::npos) << err.msg();
  // Nothing was left behind: the secrets it created first are gone.
  EXPECT_EQ(envector_store_save(st.get(), ks.get(), err.out()), ENVECTOR_OK) << err.msg();
}

TEST_F(Aws, MissingKeySetIsNamed) {
  KeySet ks;
  EXPECT_EQ(envector_store_load(st.get(), "nothing-here", nullptr, 0, ks.out(), err.out()),
            ENVECTOR_ERR_NOT_FOUND);
  for (const char *what : {"secret envector/keys/nothing-here/sec_blob",
                           "object s3://envector-key-storage/envector/keys/nothing-here/enc_blob.json"})
    EXPECT_NE(err.msg().find(what), std::string::npos) << err.msg();
  EXPECT_EQ(ks.get(), nullptr);
}

TEST_F(Aws, LifecycleStateRotateResealAndListSets) {
  KeySet ks;
  ASSERT_EQ(envector_keygen(R"({"key_id": "aws-life", "preset": "ip0", "eval_mode": "single", "dim_list": [32]})",
                            ks.out(), err.out()),
            ENVECTOR_OK)
      << err.msg();
  ASSERT_EQ(envector_store_save(st.get(), ks.get(), err.out()), ENVECTOR_OK) << err.msg();
  auto state = [&](int version) {
    KeySet any;
    Err e;
    EXPECT_EQ(envector_store_load_version(st.get(), "aws-life", version, nullptr, 0, any.out(), e.out()),
              ENVECTOR_OK)
        << e.msg();
    char *json = nullptr;
    EXPECT_EQ(envector_keyset_state_json(any.get(), &json, e.out()), ENVECTOR_OK) << e.msg();
    std::string s = json != nullptr ? json : "";
    envector_string_free(json);
    return s;
  };

  // Sealed for the first time, then rotated under the same KEK: version 1 kept.
  const std::string kek(64, 'a');
  ASSERT_EQ(envector_store_reseal(st.get(), "aws-life", nullptr, 0, bytes(kek), kek.size(), err.out()), ENVECTOR_OK)
      << err.msg();
  KeySet v2;
  ASSERT_EQ(envector_store_rotate(st.get(), "aws-life", R"({"reason": "yearly"})", bytes(kek), kek.size(), v2.out(),
                                  err.out()),
            ENVECTOR_OK)
      << err.msg();
  EXPECT_NE(state(0).find(R"("version":2,)"), std::string::npos) << state(0);
  EXPECT_NE(state(1).find(R"("state":"deactivated")"), std::string::npos) << state(1);
  EXPECT_NE(state(1).find(R"("reason":"yearly")"), std::string::npos) << state(1);
  char *json = nullptr;
  ASSERT_EQ(envector_store_list_sets(st.get(), &json, err.out()), ENVECTOR_OK) << err.msg();
  EXPECT_STREQ(json, R"([{"key_id":"aws-life","roles":["SecKey","EncKey","EvalKey","MetadataKey"],"complete":true,"versions":[1]}])");
  envector_string_free(json);

  // Deactivated: refused for use, readable by number; a wrong KEK changes nothing.
  const std::string change = R"({"to": "deactivated", "reason": "retired"})";
  const std::string wrong(64, 'b');
  EXPECT_EQ(envector_store_set_state(st.get(), "aws-life", change.c_str(), bytes(wrong), wrong.size(), err.out()),
            ENVECTOR_ERR_AUTH);
  ASSERT_EQ(envector_store_set_state(st.get(), "aws-life", change.c_str(), bytes(kek), kek.size(), err.out()),
            ENVECTOR_OK)
      << err.msg();
  KeySet refused;
  EXPECT_EQ(envector_store_load(st.get(), "aws-life", nullptr, 0, refused.out(), err.out()),
            ENVECTOR_ERR_KEY_INACTIVE);
  EXPECT_NE(state(0).find(R"("state":"deactivated")"), std::string::npos) << state(0);
  EXPECT_NE(state(2).find(R"("reason":"retired")"), std::string::npos) << state(2);

  // Delete removes every version.
  ASSERT_EQ(envector_store_delete(st.get(), "aws-life", ENVECTOR_DELETE_IMMEDIATE, err.out()), ENVECTOR_OK)
      << err.msg();
  ASSERT_EQ(envector_store_list_sets(st.get(), &json, err.out()), ENVECTOR_OK) << err.msg();
  EXPECT_STREQ(json, "[]");
  envector_string_free(json);
}
