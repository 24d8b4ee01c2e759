// The key set lifecycle through the C ABI: state changes (and the ones refused), a key
// set that is not active refused for use, reseal, rotation with earlier versions, the
// listing of sets with their versions and incomplete ones, lifetime_days, and the
// misuse of each new function.
#include "test_util.h"

#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

using namespace envtest;

namespace {

// The smallest key sets (ip0, a relinearization key only): milliseconds each.
std::string tiny(const std::string &key_id, const std::string &extra = "") {
  return R"({"key_id": ")" + key_id + R"(", "preset": "ip0", "eval_mode": "single", "dim_list": [32])" +
         extra + "}";
}

envector_keyset *const kUntouchedKs = reinterpret_cast<envector_keyset *>(uintptr_t{0x5e171e1});
char *const kUntouchedStr = reinterpret_cast<char *>(uintptr_t{0x5e171e1});

const std::string kKek(32, 'K'), kOtherKek(32, 'O'), kThirdKek(64, 'c');

// A fixture with a local store in a temp dir and helpers around the new functions.
class Lifecycle : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_EQ(envector_store_open(dir.store_options().c_str(), st.out(), err.out()), ENVECTOR_OK)
        << err.msg();
  }

  // Makes key set id (sealed under kek when it is not empty) and saves it.
  void make(const std::string &id, const std::string &kek = "", const std::string &extra = "") {
    KeySet ks;
    ASSERT_EQ(envector_keygen(tiny(id, extra).c_str(), ks.out(), err.out()), ENVECTOR_OK) << err.msg();
    if (!kek.empty()) {
      KeySet sealed;
      ASSERT_EQ(envector_seal(ks.get(), bytes(kek), kek.size(), sealed.out(), err.out()), ENVECTOR_OK)
          << err.msg();
      ASSERT_EQ(envector_store_save(st.get(), sealed.get(), err.out()), ENVECTOR_OK) << err.msg();
    } else {
      ASSERT_EQ(envector_store_save(st.get(), ks.get(), err.out()), ENVECTOR_OK) << err.msg();
    }
  }

  int set_state(const std::string &id, const std::string &change, const std::string &kek = "") {
    return envector_store_set_state(st.get(), id.c_str(), change.c_str(), kek.empty() ? nullptr : bytes(kek),
                                    kek.size(), err.out());
  }

  // The state JSON of ks.
  std::string state_of(const envector_keyset *ks) {
    char *json = nullptr;
    Err e;
    EXPECT_EQ(envector_keyset_state_json(ks, &json, e.out()), ENVECTOR_OK) << e.msg();
    std::string s = json != nullptr ? json : "";
    EXPECT_EQ(envector_string_free(json), ENVECTOR_OK);
    return s;
  }

  // The state JSON of version v of id (0: the current one), read whatever its state.
  std::string stored_state(const std::string &id, int v = 0) {
    KeySet ks;
    Err e;
    int sec[] = {ENVECTOR_ROLE_SECKEY};
    EXPECT_EQ(envector_store_load_version(st.get(), id.c_str(), v, sec, 1, ks.out(), e.out()), ENVECTOR_OK)
        << e.msg();
    return ks.get() != nullptr ? state_of(ks.get()) : "";
  }

  std::string list_sets() {
    char *json = nullptr;
    Err e;
    EXPECT_EQ(envector_store_list_sets(st.get(), &json, e.out()), ENVECTOR_OK) << e.msg();
    std::string s = json != nullptr ? json : "";
    EXPECT_EQ(envector_string_free(json), ENVECTOR_OK);
    return s;
  }

  // Expects rc == code, an error with that code whose message holds every part.
  void expect(int rc, int code, std::initializer_list<const char *> parts = {}) {
    EXPECT_EQ(rc, code) << err.msg();
    EXPECT_EQ(err.code(), code);
    std::string m = err.msg();
    for (const char *p : parts) EXPECT_NE(m.find(p), std::string::npos) << "message: " << m << "\nwant: " << p;
  }

  int load(const std::string &id, KeySet &out) {
    return envector_store_load(st.get(), id.c_str(), nullptr, 0, out.out(), err.out());
  }

  TempDir dir;
  Err err;
  Store st;
};

bool has(const std::string &s, const std::string &part) { return s.find(part) != std::string::npos; }

TEST_F(Lifecycle, StateTransitionsAndAKeySetNotActiveIsRefusedForUse) {
  make("life");
  KeySet ks;
  ASSERT_EQ(load("life", ks), ENVECTOR_OK) << err.msg();
  std::string s = state_of(ks.get());
  EXPECT_TRUE(has(s, R"("state":"active")")) << s;
  EXPECT_TRUE(has(s, R"("version":1,)")) << s;
  EXPECT_TRUE(has(s, R"("reason":null)")) << s;
  EXPECT_TRUE(has(s, R"("changed_by":null)")) << s;
  EXPECT_TRUE(has(s, R"("set_id":")")) << s;
  EXPECT_TRUE(has(s, R"("expires_at":")")) << s;
  EXPECT_FALSE(has(s, "key_data")) << s;

  // Skipping a step, going back, or staying: refused, nothing changed.
  expect(set_state("life", R"({"to": "destroyed", "reason": "skip"})"), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"envector_store_set_state", "destroyed only from deactivated"});
  expect(set_state("life", R"({"to": "active", "reason": "again"})"), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"already active"});
  expect(set_state("life", R"({"to": "preparing", "reason": "back"})"), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"cannot be moved to"});
  // An unsealed set refuses a KEK; a missing or empty reason is refused.
  expect(set_state("life", R"({"to": "deactivated", "reason": "r"})", kKek), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"not sealed; give no KEK"});
  expect(set_state("life", R"({"to": "deactivated", "reason": "  "})"), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"a reason is required"});
  EXPECT_TRUE(has(stored_state("life"), R"("state":"active")"));
  ASSERT_EQ(load("life", ks), ENVECTOR_OK) << err.msg();

  // Deactivated: refused for use, readable by number (0: the current one).
  ASSERT_EQ(set_state("life", R"({"to": "Deactivated", "reason": "rotated out"})"), ENVECTOR_OK) << err.msg();
  KeySet refused;
  expect(load("life", refused), ENVECTOR_ERR_KEY_INACTIVE, {"envector_store_load", "deactivated, not active"});
  EXPECT_EQ(refused.get(), nullptr);
  int pub[] = {ENVECTOR_ROLE_ENCKEY};
  envector_keyset *out = kUntouchedKs;
  expect(envector_store_load(st.get(), "life", pub, 1, &out, err.out()), ENVECTOR_ERR_KEY_INACTIVE);
  EXPECT_EQ(out, kUntouchedKs);
  s = stored_state("life");
  EXPECT_TRUE(has(s, R"("state":"deactivated")")) << s;
  EXPECT_TRUE(has(s, R"("reason":"rotated out")")) << s;
  EXPECT_TRUE(has(s, R"("compromised":false)")) << s;
  EXPECT_TRUE(has(s, R"("changed_by":{"entity":")")) << s;
  EXPECT_TRUE(has(s, R"("method":"sdk")")) << s;
  EXPECT_EQ(stored_state("life", 1), s);
  {
    // The whole set, whatever its state, and its keys still belong together.
    KeySet any;
    ASSERT_EQ(envector_store_load_version(st.get(), "life", 0, nullptr, 0, any.out(), err.out()), ENVECTOR_OK)
        << err.msg();
    EXPECT_EQ(roles(any.get()).size(), 4u);
    EXPECT_EQ(envector_keyset_verify(any.get(), nullptr, 0, err.out()), ENVECTOR_OK) << err.msg();
  }
  expect(set_state("life", R"({"to": "active", "reason": "undo"})"), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"active only from preparing"});

  // Destroyed, recording a compromise: the secrets are erased, the public keys stay.
  ASSERT_EQ(set_state("life", R"({"to": "destroyed", "reason": "leaked", "compromised": true})"), ENVECTOR_OK)
      << err.msg();
  s = stored_state("life");
  EXPECT_TRUE(has(s, R"("state":"destroyed")")) << s;
  EXPECT_TRUE(has(s, R"("reason":"compromised: leaked")")) << s;
  EXPECT_TRUE(has(s, R"("compromised":true)")) << s;
  KeySet tomb;
  ASSERT_EQ(envector_store_load_version(st.get(), "life", 1, nullptr, 0, tomb.out(), err.out()), ENVECTOR_OK)
      << err.msg();
  EXPECT_EQ(key_data(blob(tomb.get(), ENVECTOR_ROLE_SECKEY)), "");
  EXPECT_NE(key_data(blob(tomb.get(), ENVECTOR_ROLE_ENCKEY)), "");
  expect(load("life", refused), ENVECTOR_ERR_KEY_INACTIVE, {"destroyed"});
  expect(set_state("life", R"({"to": "destroyed", "reason": "again"})"), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"already destroyed"});
  // Deleting removes it.
  ASSERT_EQ(envector_store_delete(st.get(), "life", 0, err.out()), ENVECTOR_OK) << err.msg();
  expect(set_state("life", R"({"to": "deactivated", "reason": "r"})"), ENVECTOR_ERR_NOT_FOUND);
}

TEST_F(Lifecycle, ASealedSetNeedsItsKekAndAWrongOneChangesNothing) {
  make("sealed", kKek);
  const std::string change = R"({"to": "deactivated", "reason": "done"})";
  expect(set_state("sealed", change), ENVECTOR_ERR_INVALID_ARGUMENT, {"sealed", "needs the KEK"});
  expect(set_state("sealed", change, kOtherKek), ENVECTOR_ERR_AUTH, {"envector_store_set_state", "\"sealed\""});
  EXPECT_EQ(err.msg().find("OOOO"), std::string::npos) << err.msg(); // the KEK is never echoed
  EXPECT_TRUE(has(stored_state("sealed"), R"("state":"active")"));
  ASSERT_EQ(set_state("sealed", change, kKek), ENVECTOR_OK) << err.msg();
  EXPECT_TRUE(has(stored_state("sealed"), R"("state":"deactivated")"));
  // Still sealed under the same KEK.
  KeySet any, plain;
  ASSERT_EQ(envector_store_load_version(st.get(), "sealed", 1, nullptr, 0, any.out(), err.out()), ENVECTOR_OK);
  expect(envector_unseal(any.get(), bytes(kOtherKek), kOtherKek.size(), plain.out(), err.out()), ENVECTOR_ERR_AUTH);
  ASSERT_EQ(envector_unseal(any.get(), bytes(kKek), kKek.size(), plain.out(), err.out()), ENVECTOR_OK) << err.msg();
}

TEST_F(Lifecycle, ResealThenLoadAndUnsealWithTheNewKek) {
  make("rs");
  KeySet before;
  ASSERT_EQ(load("rs", before), ENVECTOR_OK);
  const std::string enc = blob(before.get(), ENVECTOR_ROLE_ENCKEY);
  const std::string sec = key_data(blob(before.get(), ENVECTOR_ROLE_SECKEY));

  // An unsealed set is sealed for the first time (no current KEK).
  expect(envector_store_reseal(st.get(), "rs", bytes(kKek), kKek.size(), bytes(kOtherKek), kOtherKek.size(),
                               err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"not sealed; give no current KEK"});
  ASSERT_EQ(envector_store_reseal(st.get(), "rs", nullptr, 0, bytes(kKek), kKek.size(), err.out()), ENVECTOR_OK)
      << err.msg();
  KeySet ks, plain;
  ASSERT_EQ(load("rs", ks), ENVECTOR_OK) << err.msg();
  int sealed = 0;
  ASSERT_EQ(envector_keyset_sealed(ks.get(), &sealed, err.out()), ENVECTOR_OK);
  EXPECT_EQ(sealed, 1);
  EXPECT_EQ(blob(ks.get(), ENVECTOR_ROLE_ENCKEY), enc); // the public keys are as they were
  ASSERT_EQ(envector_unseal(ks.get(), bytes(kKek), kKek.size(), plain.out(), err.out()), ENVECTOR_OK) << err.msg();
  EXPECT_EQ(key_data(blob(plain.get(), ENVECTOR_ROLE_SECKEY)), sec); // the same keys

  // Sealed: the current KEK is required, and must be right.
  expect(envector_store_reseal(st.get(), "rs", nullptr, 0, bytes(kOtherKek), kOtherKek.size(), err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"needs the current KEK"});
  expect(envector_store_reseal(st.get(), "rs", bytes(kThirdKek), kThirdKek.size(), bytes(kOtherKek),
                               kOtherKek.size(), err.out()),
         ENVECTOR_ERR_AUTH);
  ASSERT_EQ(envector_store_reseal(st.get(), "rs", bytes(kKek), kKek.size(), bytes(kOtherKek), kOtherKek.size(),
                                  err.out()),
            ENVECTOR_OK)
      << err.msg();
  ASSERT_EQ(load("rs", ks), ENVECTOR_OK) << err.msg();
  expect(envector_unseal(ks.get(), bytes(kKek), kKek.size(), plain.out(), err.out()), ENVECTOR_ERR_AUTH);
  ASSERT_EQ(envector_unseal(ks.get(), bytes(kOtherKek), kOtherKek.size(), plain.out(), err.out()), ENVECTOR_OK)
      << err.msg();
  EXPECT_EQ(key_data(blob(plain.get(), ENVECTOR_ROLE_SECKEY)), sec);
  EXPECT_EQ(envector_keyset_verify(ks.get(), bytes(kOtherKek), kOtherKek.size(), err.out()), ENVECTOR_OK)
      << err.msg();
  EXPECT_NE(blob(ks.get(), ENVECTOR_ROLE_SECKEY).find("\"key_version\":\"3\""), std::string::npos);

  // Only an active set is resealed.
  ASSERT_EQ(set_state("rs", R"({"to": "deactivated", "reason": "r"})", kOtherKek), ENVECTOR_OK) << err.msg();
  expect(envector_store_reseal(st.get(), "rs", bytes(kOtherKek), kOtherKek.size(), bytes(kKek), kKek.size(),
                               err.out()),
         ENVECTOR_ERR_KEY_INACTIVE, {"envector_store_reseal", "deactivated, not active"});
}

TEST_F(Lifecycle, RotateKeepsTheEarlierVersion) {
  make("rot");
  KeySet v1;
  ASSERT_EQ(load("rot", v1), ENVECTOR_OK);
  const std::string sec1 = blob(v1.get(), ENVECTOR_ROLE_SECKEY);

  KeySet v2;
  ASSERT_EQ(envector_store_rotate(st.get(), "rot", R"({"reason": "scheduled", "lifetime_days": 30})", nullptr, 0,
                                  v2.out(), err.out()),
            ENVECTOR_OK)
      << err.msg();
  std::string s = state_of(v2.get());
  EXPECT_TRUE(has(s, R"("state":"active")")) << s;
  EXPECT_TRUE(has(s, R"("version":2,)")) << s;
  EXPECT_NE(blob(v2.get(), ENVECTOR_ROLE_EVALKEY).find("\"SINGLE\""), std::string::npos); // the current set's parameters

  // The current version is 2, active; version 1 is kept, deactivated with the reason.
  KeySet cur;
  ASSERT_EQ(load("rot", cur), ENVECTOR_OK) << err.msg();
  EXPECT_TRUE(has(state_of(cur.get()), R"("version":2,)"));
  EXPECT_EQ(blob(cur.get(), ENVECTOR_ROLE_SECKEY), blob(v2.get(), ENVECTOR_ROLE_SECKEY));
  EXPECT_NE(blob(cur.get(), ENVECTOR_ROLE_SECKEY), sec1);
  EXPECT_EQ(envector_keyset_verify(cur.get(), nullptr, 0, err.out()), ENVECTOR_OK) << err.msg();
  KeySet old;
  ASSERT_EQ(envector_store_load_version(st.get(), "rot", 1, nullptr, 0, old.out(), err.out()), ENVECTOR_OK)
      << err.msg();
  s = state_of(old.get());
  EXPECT_TRUE(has(s, R"("state":"deactivated")")) << s;
  EXPECT_TRUE(has(s, R"("version":1,)")) << s;
  EXPECT_TRUE(has(s, R"("reason":"scheduled")")) << s;
  EXPECT_EQ(key_data(blob(old.get(), ENVECTOR_ROLE_SECKEY)), key_data(sec1)); // the same keys
  EXPECT_EQ(envector_keyset_verify(old.get(), nullptr, 0, err.out()), ENVECTOR_OK) << err.msg();
  KeySet two;
  ASSERT_EQ(envector_store_load_version(st.get(), "rot", 2, nullptr, 0, two.out(), err.out()), ENVECTOR_OK);
  EXPECT_EQ(blob(two.get(), ENVECTOR_ROLE_SECKEY), blob(cur.get(), ENVECTOR_ROLE_SECKEY));
  envector_keyset *out = kUntouchedKs;
  expect(envector_store_load_version(st.get(), "rot", 3, nullptr, 0, &out, err.out()), ENVECTOR_ERR_NOT_FOUND,
         {"no version 3", "the current one is 2"});
  expect(envector_store_load_version(st.get(), "rot", -1, nullptr, 0, &out, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"version -1 is not accepted"});
  EXPECT_EQ(out, kUntouchedKs);

  // A rotation without out; the listing shows the earlier versions.
  ASSERT_EQ(envector_store_rotate(st.get(), "rot", "{}", nullptr, 0, nullptr, err.out()), ENVECTOR_OK) << err.msg();
  EXPECT_TRUE(has(stored_state("rot"), R"("version":3,)"));
  EXPECT_TRUE(has(stored_state("rot", 2), R"("reason":"superseded by version 3")"));
  EXPECT_EQ(list_sets(), R"([{"key_id":"rot","roles":["SecKey","EncKey","EvalKey","MetadataKey"],"complete":true,"versions":[1,2]}])");
}

TEST_F(Lifecycle, RotateASealedSetAndRefusedRotations) {
  make("srot", kKek);
  envector_keyset *out = kUntouchedKs;
  expect(envector_store_rotate(st.get(), "srot", "{}", nullptr, 0, &out, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"sealed; rotating needs the KEK"});
  expect(envector_store_rotate(st.get(), "srot", "{}", bytes(kOtherKek), kOtherKek.size(), &out, err.out()),
         ENVECTOR_ERR_AUTH);
  expect(envector_store_rotate(st.get(), "srot", R"({"key_id": "other"})", bytes(kKek), kKek.size(), &out, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"key_id \"other\" is not the key set rotated"});
  expect(envector_store_rotate(st.get(), "srot", R"({"seal_kek_path": "/kek"})", bytes(kKek), kKek.size(), &out,
                               err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"seal_kek_path is not read"});
  expect(envector_store_rotate(st.get(), "srot", R"({"seal_mode": "aes"})", nullptr, 0, &out, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"needs the KEK, given as kek"});
  expect(envector_store_rotate(st.get(), "srot", R"({"lifetime_days": 0})", bytes(kKek), kKek.size(), &out,
                               err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"lifetime_days must be a positive number"});
  expect(envector_store_rotate(st.get(), "srot", R"({"rotate": true})", bytes(kKek), kKek.size(), &out, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"unknown key \"rotate\""});
  expect(envector_store_rotate(st.get(), "nothing", "{}", nullptr, 0, &out, err.out()), ENVECTOR_ERR_NOT_FOUND);
  EXPECT_EQ(out, kUntouchedKs);
  EXPECT_EQ(list_sets(), R"([{"key_id":"srot","roles":["SecKey","EncKey","EvalKey","MetadataKey"],"complete":true,"versions":[]}])");

  KeySet v2, plain;
  ASSERT_EQ(envector_store_rotate(st.get(), "srot", R"({"preset": "ip0", "eval_mode": "rmp", "dim_list": [32]})",
                                  bytes(kKek), kKek.size(), v2.out(), err.out()),
            ENVECTOR_OK)
      << err.msg();
  int sealed = 0;
  ASSERT_EQ(envector_keyset_sealed(v2.get(), &sealed, err.out()), ENVECTOR_OK);
  EXPECT_EQ(sealed, 1); // sealed under the same KEK
  ASSERT_EQ(envector_unseal(v2.get(), bytes(kKek), kKek.size(), plain.out(), err.out()), ENVECTOR_OK) << err.msg();
  EXPECT_NE(blob(v2.get(), ENVECTOR_ROLE_EVALKEY).find("\"RMP\""), std::string::npos); // the parameters given
  KeySet old;
  ASSERT_EQ(envector_store_load_version(st.get(), "srot", 1, nullptr, 0, old.out(), err.out()), ENVECTOR_OK);
  EXPECT_TRUE(has(state_of(old.get()), R"("state":"deactivated")"));
  ASSERT_EQ(envector_unseal(old.get(), bytes(kKek), kKek.size(), plain.out(), err.out()), ENVECTOR_OK) << err.msg();
}

TEST_F(Lifecycle, ListSetsShowsVersionsAndAnIncompleteSet) {
  EXPECT_EQ(list_sets(), "[]");
  make("a");
  make("b", "", R"(, "metadata_encryption": false)");
  ASSERT_EQ(envector_store_rotate(st.get(), "a", "{}", nullptr, 0, nullptr, err.out()), ENVECTOR_OK) << err.msg();
  std::filesystem::remove(dir.path() + "/b/EvalKey.json");
  EXPECT_EQ(list_sets(), R"([{"key_id":"a","roles":["SecKey","EncKey","EvalKey","MetadataKey"],"complete":true,"versions":[1]},)"
                         R"({"key_id":"b","roles":["SecKey","EncKey"],"complete":false,"versions":[]}])");
  EXPECT_EQ(list(st.get()), (std::vector<std::string>{"a", "b"}));
  int exists = 1;
  ASSERT_EQ(envector_store_exists(st.get(), "b", &exists, err.out()), ENVECTOR_OK);
  EXPECT_EQ(exists, 0);
  ASSERT_EQ(envector_store_delete(st.get(), "b", 0, err.out()), ENVECTOR_OK) << err.msg();
  ASSERT_EQ(envector_store_delete(st.get(), "a", 0, err.out()), ENVECTOR_OK) << err.msg();
  EXPECT_EQ(list_sets(), "[]");
}

TEST_F(Lifecycle, LifetimeDays) {
  KeySet ks;
  ASSERT_EQ(envector_keygen(tiny("lt", R"(, "lifetime_days": 0.5)").c_str(), ks.out(), err.out()), ENVECTOR_OK)
      << err.msg();
  std::string s = state_of(ks.get());
  // created_at + 12 hours.
  auto field = [&](const char *name) {
    std::string tag = std::string("\"") + name + "\":\"";
    size_t at = s.find(tag);
    return at == std::string::npos ? std::string() : s.substr(at + tag.size(), 20);
  };
  struct tm c = {}, e = {};
  ASSERT_NE(strptime(field("created_at").c_str(), "%Y-%m-%dT%H:%M:%SZ", &c), nullptr) << s;
  ASSERT_NE(strptime(field("expires_at").c_str(), "%Y-%m-%dT%H:%M:%SZ", &e), nullptr) << s;
  EXPECT_EQ(timegm(&e) - timegm(&c), 12 * 3600) << s;

  envector_keyset *out = kUntouchedKs;
  for (const char *bad : {"0", "-1", "\"30\"", "true", "[30]"}) {
    expect(envector_keygen(tiny("lt", std::string(R"(, "lifetime_days": )") + bad).c_str(), &out, err.out()),
           ENVECTOR_ERR_INVALID_ARGUMENT, {"lifetime_days must be a positive number of days"});
  }
  expect(envector_keygen(tiny("lt", R"(, "lifetime_days": 36501)").c_str(), &out, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"accepted: 1 hour to 100 years"});
  expect(envector_keygen(tiny("lt", R"(, "lifetime_days": 1e300)").c_str(), &out, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"accepted: 1 hour to 100 years"});
  expect(envector_keygen(tiny("lt", R"(, "lifetime_days": 0.02)").c_str(), &out, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"accepted: 1 hour to 100 years"});
  EXPECT_EQ(out, kUntouchedKs);
  KeySet hour;
  ASSERT_EQ(envector_keygen(tiny("lt", R"(, "lifetime_days": 0.041666666666666664)").c_str(), hour.out(), err.out()),
            ENVECTOR_OK)
      << err.msg();
}

TEST_F(Lifecycle, Misuse) {
  make("m");
  envector_keyset *out = kUntouchedKs;
  char *json = kUntouchedStr;
  const std::string change = R"({"to": "deactivated", "reason": "r"})";
  // NULL and stale handles, NULL pointers.
  expect(envector_store_set_state(nullptr, "m", change.c_str(), nullptr, 0, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"envector_store_set_state", "store is NULL"});
  expect(envector_store_set_state(st.get(), nullptr, change.c_str(), nullptr, 0, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"key_id is NULL"});
  expect(envector_store_set_state(st.get(), "m", nullptr, nullptr, 0, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"change_json is NULL"});
  expect(envector_store_set_state(st.get(), "m", change.c_str(), nullptr, 32, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"kek is NULL but kek_len is 32"});
  expect(envector_store_reseal(nullptr, "m", nullptr, 0, bytes(kKek), 32, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"envector_store_reseal", "store is NULL"});
  expect(envector_store_reseal(st.get(), "m", nullptr, 0, nullptr, 0, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"new_kek is NULL"});
  expect(envector_store_reseal(st.get(), "m", nullptr, 5, bytes(kKek), 32, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"old_kek is NULL but old_kek_len is 5"});
  expect(envector_store_reseal(st.get(), "m", nullptr, 0, bytes(kKek), 31, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"accepted: exactly 32 raw bytes"});
  expect(envector_store_rotate(nullptr, "m", "{}", nullptr, 0, &out, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"envector_store_rotate", "store is NULL"});
  expect(envector_store_rotate(st.get(), "m", nullptr, nullptr, 0, &out, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"options_json is NULL"});
  expect(envector_store_rotate(st.get(), nullptr, "{}", nullptr, 0, &out, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"key_id is NULL"});
  expect(envector_store_load_version(nullptr, "m", 1, nullptr, 0, &out, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"envector_store_load_version", "store is NULL"});
  expect(envector_store_load_version(st.get(), "m", 1, nullptr, 0, nullptr, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"out is NULL"});
  expect(envector_store_load_version(st.get(), "m", 1, nullptr, 2, &out, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"roles is NULL but count is 2"});
  expect(envector_store_load_version(st.get(), "../m", 1, nullptr, 0, &out, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"is not accepted"});
  expect(envector_store_load_version(st.get(), "../m", 0, nullptr, 0, &out, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"is not accepted"});
  expect(envector_store_load_version(st.get(), "absent", 0, nullptr, 0, &out, err.out()), ENVECTOR_ERR_NOT_FOUND);
  EXPECT_EQ(out, kUntouchedKs);
  expect(envector_store_list_sets(nullptr, &json, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"envector_store_list_sets", "store is NULL"});
  expect(envector_store_list_sets(st.get(), nullptr, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"out_json is NULL"});
  expect(envector_keyset_state_json(nullptr, &json, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"envector_keyset_state_json", "ks is NULL"});
  EXPECT_EQ(json, kUntouchedStr);
  KeySet ks;
  ASSERT_EQ(load("m", ks), ENVECTOR_OK);
  expect(envector_keyset_state_json(ks.get(), nullptr, err.out()), ENVECTOR_ERR_INVALID_ARGUMENT,
         {"out_json is NULL"});
  auto *ksAsStore = reinterpret_cast<envector_store *>(ks.get());
  expect(envector_store_set_state(ksAsStore, "m", change.c_str(), nullptr, 0, err.out()),
         ENVECTOR_ERR_INVALID_ARGUMENT, {"store is a key set handle"});

  // Bad change_json: each refused, naming what is accepted; nothing changed.
  struct {
    const char *json, *want;
  } bad[] = {
      {"", "change_json: invalid JSON"},
      {"[]", "change_json: the JSON must be an object"},
      {R"({"to": "deactivated"})", "\"reason\" is required"},
      {R"({"reason": "r"})", "\"to\" is required"},
      {R"({"to": 3, "reason": "r"})", "\"to\" must be a string"},
      {R"({"to": "deactivated", "reason": 3})", "\"reason\" must be a string"},
      {R"({"to": "deactivated", "reason": "r", "compromised": "yes"})", "\"compromised\" must be true or false"},
      {R"({"to": "deactivated", "reason": "r", "why": "x"})", "unknown key \"why\"; accepted: to, reason, compromised"},
      {R"({"to": "deactivated", "to": "destroyed", "reason": "r"})", "key \"to\" is given twice"},
      {R"({"to": "suspended", "reason": "r"})", "state \"suspended\" cannot be moved to"},
      {R"({"to": "active", "reason": "r", "compromised": true})", "cannot be activated"},
  };
  for (const auto &b : bad) {
    expect(set_state("m", b.json), ENVECTOR_ERR_INVALID_ARGUMENT, {b.want});
  }
  EXPECT_TRUE(has(stored_state("m"), R"("state":"active")"));

  // err = NULL: the code alone.
  EXPECT_EQ(envector_store_set_state(st.get(), "m", "{}", nullptr, 0, nullptr), ENVECTOR_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(envector_store_load_version(st.get(), "m", 9, nullptr, 0, &out, nullptr), ENVECTOR_ERR_NOT_FOUND);
  EXPECT_EQ(out, kUntouchedKs);
}

} // namespace
