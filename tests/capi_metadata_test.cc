// Metadata encryption through the C ABI: envector_metadata_encrypt / _decrypt round
// trips with and without associated data, refuse the wrong aad, key set or an altered
// token (AUTH), a malformed token or non-UTF-8 metadata (INVALID_ARGUMENT), a sealed
// MetadataKey and a key set without one; out-parameters stay untouched on failure and
// no message repeats the metadata.
#include "test_util.h"

#include <cstring>

using namespace envtest;

namespace {

uint8_t *const kUntouchedBytes = reinterpret_cast<uint8_t *>(uintptr_t{0x5e171e1});
char *const kUntouchedStr = reinterpret_cast<char *>(uintptr_t{0x5e171e1});

// Metadata that must never show up in a message.
const std::string kSecret = R"({"title":"secret-metadata","저자":"김"})";

std::string b64decode(const std::string &in) {
  static const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    size_t v = alphabet.find(c);
    if (v == std::string::npos) {
      ADD_FAILURE() << "not base64: " << in;
      return "";
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

// The value of "name" in a flat JSON object without spaces or escapes (the token's JSON).
std::string json_field(const std::string &doc, const std::string &name) {
  const std::string tag = "\"" + name + "\":\"";
  size_t at = doc.find(tag);
  if (at == std::string::npos) return "";
  at += tag.size();
  return doc.substr(at, doc.find('"', at) - at);
}

class Metadata : public ::testing::Test {
protected:
  // Two key sets, made once for the suite: `a` and another one, `b`.
  static void SetUpTestSuite() {
    Err err;
    ASSERT_EQ(envector_keygen(opts("meta-a").c_str(), &a_, err.out()), ENVECTOR_OK) << err.msg();
    ASSERT_EQ(envector_keygen(opts("meta-b").c_str(), &b_, err.out()), ENVECTOR_OK) << err.msg();
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(envector_keyset_free(a_), ENVECTOR_OK);
    EXPECT_EQ(envector_keyset_free(b_), ENVECTOR_OK);
    a_ = b_ = nullptr;
  }

  // encrypt returns the token of text under ks (a test failure, and "", otherwise).
  std::string encrypt(const envector_keyset *ks, const std::string &text, const std::string &aad = "") {
    char *token = nullptr;
    int rc = envector_metadata_encrypt(ks, bytes(text), text.size(), aad.empty() ? nullptr : bytes(aad),
                                       aad.size(), &token, err.out());
    EXPECT_EQ(rc, ENVECTOR_OK) << err.msg();
    if (rc != ENVECTOR_OK) return "";
    std::string s = token;
    EXPECT_EQ(envector_string_free(token), ENVECTOR_OK);
    return s;
  }

  // decrypt returns the status and, on success, the metadata in *out.
  int decrypt(const envector_keyset *ks, const std::string &token, const std::string &aad,
              std::string *out) {
    uint8_t *data = kUntouchedBytes;
    size_t len = 777;
    int rc = envector_metadata_decrypt(ks, token.c_str(), aad.empty() ? nullptr : bytes(aad), aad.size(),
                                       &data, &len, err.out());
    if (rc != ENVECTOR_OK) {
      EXPECT_EQ(data, kUntouchedBytes);
      EXPECT_EQ(len, 777u);
      return rc;
    }
    EXPECT_NE(data, nullptr);
    out->assign(reinterpret_cast<const char *>(data), len);
    EXPECT_EQ(envector_bytes_free(data), ENVECTOR_OK);
    return rc;
  }

  // Expects a failed decrypt with code, a message holding part and never the metadata.
  void decrypt_fails(const envector_keyset *ks, const std::string &token, const std::string &aad, int code,
                     const char *part) {
    std::string out;
    EXPECT_EQ(decrypt(ks, token, aad, &out), code) << err.msg();
    EXPECT_EQ(err.code(), code);
    EXPECT_NE(err.msg().find("envector_metadata_decrypt"), std::string::npos) << err.msg();
    EXPECT_NE(err.msg().find(part), std::string::npos) << "message: " << err.msg() << "\nwant: " << part;
    EXPECT_EQ(err.msg().find("secret-metadata"), std::string::npos) << err.msg();
  }

  static envector_keyset *a_, *b_;
  Err err;
};

envector_keyset *Metadata::a_ = nullptr;
envector_keyset *Metadata::b_ = nullptr;

TEST_F(Metadata, RoundTrip) {
  for (const std::string &text : {kSecret, std::string("plain text"), std::string()}) {
    for (const std::string &aad : {std::string(), std::string("doc-17")}) {
      const std::string token = encrypt(a_, text, aad);
      // The token is the standard base64 of {"encrypted_data","iv","tag"}.
      ASSERT_FALSE(token.empty());
      EXPECT_EQ(token.find_first_not_of(
                    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="),
                std::string::npos)
          << token;
      const std::string doc = b64decode(token);
      EXPECT_EQ(b64decode(json_field(doc, "iv")).size(), 12u) << doc;
      EXPECT_EQ(b64decode(json_field(doc, "tag")).size(), 16u) << doc;
      EXPECT_EQ(b64decode(json_field(doc, "encrypted_data")).size(), text.size()) << doc;
      EXPECT_EQ(doc.find("secret-metadata"), std::string::npos);

      std::string out;
      ASSERT_EQ(decrypt(a_, token, aad, &out), ENVECTOR_OK) << err.msg();
      EXPECT_EQ(out, text);
      // The JSON form, and the token with a final newline, decrypt too.
      ASSERT_EQ(decrypt(a_, doc, aad, &out), ENVECTOR_OK) << err.msg();
      EXPECT_EQ(out, text);
      ASSERT_EQ(decrypt(a_, token + "\n", aad, &out), ENVECTOR_OK) << err.msg();
      EXPECT_EQ(out, text);
    }
  }
  // A fresh IV each time: the same text gives another token.
  EXPECT_NE(encrypt(a_, kSecret), encrypt(a_, kSecret));
  // NULL plaintext with length 0 is the empty text; err may be NULL.
  char *token = nullptr;
  ASSERT_EQ(envector_metadata_encrypt(a_, nullptr, 0, nullptr, 0, &token, nullptr), ENVECTOR_OK);
  std::string out = "x";
  ASSERT_EQ(decrypt(a_, token, "", &out), ENVECTOR_OK) << err.msg();
  EXPECT_EQ(out, "");
  EXPECT_EQ(envector_string_free(token), ENVECTOR_OK);
}

TEST_F(Metadata, AadMismatchIsAuth) {
  const std::string with = encrypt(a_, kSecret, "doc-1");
  decrypt_fails(a_, with, "doc-2", ENVECTOR_ERR_AUTH, "other associated data");
  decrypt_fails(a_, with, "", ENVECTOR_ERR_AUTH, "does not decrypt");
  const std::string without = encrypt(a_, kSecret);
  decrypt_fails(a_, without, "doc-1", ENVECTOR_ERR_AUTH, "does not decrypt");
}

TEST_F(Metadata, WrongKeySetIsAuth) {
  const std::string token = encrypt(a_, kSecret);
  decrypt_fails(b_, token, "", ENVECTOR_ERR_AUTH, "another MetadataKey");
}

TEST_F(Metadata, AlteredTokenIsAuth) {
  const std::string doc = b64decode(encrypt(a_, kSecret));
  for (const char *field : {"encrypted_data", "tag", "iv"}) {
    std::string v = json_field(doc, field);
    std::string changed = v;
    changed[0] = changed[0] == 'A' ? 'B' : 'A'; // still base64 of the same size
    std::string altered = doc;
    altered.replace(altered.find(v), v.size(), changed);
    decrypt_fails(a_, altered, "", ENVECTOR_ERR_AUTH, "altered");
  }
}

TEST_F(Metadata, MalformedTokenIsInvalidArgument) {
  const std::string doc = b64decode(encrypt(a_, kSecret));
  const std::string iv = json_field(doc, "iv");
  std::string short_iv = doc;
  short_iv.replace(short_iv.find(iv), iv.size(), "AAAA");
  std::string extra = doc;
  extra.insert(1, R"("x":"1",)");
  for (const std::string &bad : {std::string("not a token!"), std::string(""), std::string("e30="),
                                 std::string("{}"), std::string("{\"encrypted_data\":"), short_iv, extra,
                                 std::string("\xff\xfe")}) {
    decrypt_fails(a_, bad, "", ENVECTOR_ERR_INVALID_ARGUMENT, "token");
  }
}

TEST_F(Metadata, NonUtf8MetadataIsRefused) {
  const std::string bad = "caf\xe9";
  char *token = kUntouchedStr;
  EXPECT_EQ(envector_metadata_encrypt(a_, bytes(bad), bad.size(), nullptr, 0, &token, err.out()),
            ENVECTOR_ERR_INVALID_ARGUMENT);
  EXPECT_NE(err.msg().find("not UTF-8"), std::string::npos) << err.msg();
  EXPECT_EQ(token, kUntouchedStr);
}

TEST_F(Metadata, NullAndBadArguments) {
  const std::string token = encrypt(a_, kSecret);
  char *tok = kUntouchedStr;
  uint8_t *data = kUntouchedBytes;
  size_t len = 777;
  auto expect = [&](int rc, const char *fn, const char *part) {
    EXPECT_EQ(rc, ENVECTOR_ERR_INVALID_ARGUMENT) << err.msg();
    EXPECT_EQ(err.code(), ENVECTOR_ERR_INVALID_ARGUMENT);
    EXPECT_NE(err.msg().find(fn), std::string::npos) << err.msg();
    EXPECT_NE(err.msg().find(part), std::string::npos) << "message: " << err.msg() << "\nwant: " << part;
    EXPECT_EQ(tok, kUntouchedStr);
    EXPECT_EQ(data, kUntouchedBytes);
    EXPECT_EQ(len, 777u);
  };
  const char *enc = "envector_metadata_encrypt", *dec = "envector_metadata_decrypt";
  expect(envector_metadata_encrypt(nullptr, bytes(kSecret), kSecret.size(), nullptr, 0, &tok, err.out()), enc,
         "ks is NULL");
  expect(envector_metadata_encrypt(a_, nullptr, 5, nullptr, 0, &tok, err.out()), enc,
         "plaintext is NULL but plaintext_len is 5");
  expect(envector_metadata_encrypt(a_, bytes(kSecret), kSecret.size(), nullptr, 3, &tok, err.out()), enc,
         "aad is NULL but aad_len is 3");
  expect(envector_metadata_encrypt(a_, bytes(kSecret), kSecret.size(), nullptr, 0, nullptr, err.out()), enc,
         "out_token is NULL");
  expect(envector_metadata_decrypt(nullptr, token.c_str(), nullptr, 0, &data, &len, err.out()), dec, "ks is NULL");
  expect(envector_metadata_decrypt(a_, nullptr, nullptr, 0, &data, &len, err.out()), dec, "token is NULL");
  expect(envector_metadata_decrypt(a_, token.c_str(), nullptr, 2, &data, &len, err.out()), dec,
         "aad is NULL but aad_len is 2");
  expect(envector_metadata_decrypt(a_, token.c_str(), nullptr, 0, nullptr, &len, err.out()), dec,
         "out_plaintext or out_len is NULL");
  expect(envector_metadata_decrypt(a_, token.c_str(), nullptr, 0, &data, nullptr, err.out()), dec,
         "out_plaintext or out_len is NULL");

  // A freed key set handle, and a store handle, are refused too.
  envector_keyset *gone = nullptr;
  ASSERT_EQ(envector_keygen(opts("meta-gone").c_str(), &gone, err.out()), ENVECTOR_OK) << err.msg();
  ASSERT_EQ(envector_keyset_free(gone), ENVECTOR_OK);
  expect(envector_metadata_encrypt(gone, bytes(kSecret), kSecret.size(), nullptr, 0, &tok, err.out()), enc,
         "freed");
  expect(envector_metadata_decrypt(gone, token.c_str(), nullptr, 0, &data, &len, err.out()), dec, "freed");
  TempDir dir;
  Store st;
  ASSERT_EQ(envector_store_open(dir.store_options().c_str(), st.out(), err.out()), ENVECTOR_OK) << err.msg();
  const auto *as_ks = reinterpret_cast<const envector_keyset *>(st.get());
  expect(envector_metadata_encrypt(as_ks, bytes(kSecret), kSecret.size(), nullptr, 0, &tok, err.out()), enc,
         "not a key set handle");

  // Without an error out-parameter: the status alone.
  EXPECT_EQ(envector_metadata_decrypt(a_, nullptr, nullptr, 0, &data, &len, nullptr),
            ENVECTOR_ERR_INVALID_ARGUMENT);
}

TEST_F(Metadata, SealedMetadataKeyNeedsUnseal) {
  const std::string token = encrypt(a_, kSecret, "aad");
  std::string kek(32, '\x5a');
  KeySet sealed;
  ASSERT_EQ(envector_seal(a_, bytes(kek), kek.size(), sealed.out(), err.out()), ENVECTOR_OK) << err.msg();

  char *tok = kUntouchedStr;
  EXPECT_EQ(envector_metadata_encrypt(sealed.get(), bytes(kSecret), kSecret.size(), nullptr, 0, &tok, err.out()),
            ENVECTOR_ERR_INVALID_ARGUMENT);
  EXPECT_NE(err.msg().find("MetadataKey of key \"meta-a\" is sealed"), std::string::npos) << err.msg();
  EXPECT_NE(err.msg().find("KEK"), std::string::npos) << err.msg();
  EXPECT_EQ(tok, kUntouchedStr);
  decrypt_fails(sealed.get(), token, "aad", ENVECTOR_ERR_INVALID_ARGUMENT, "is sealed");

  // Unsealed, it is the same MetadataKey: what the plain set encrypted decrypts.
  KeySet unsealed;
  ASSERT_EQ(envector_unseal(sealed.get(), bytes(kek), kek.size(), unsealed.out(), err.out()), ENVECTOR_OK)
      << err.msg();
  std::string out;
  ASSERT_EQ(decrypt(unsealed.get(), token, "aad", &out), ENVECTOR_OK) << err.msg();
  EXPECT_EQ(out, kSecret);
}

TEST_F(Metadata, KeySetWithoutMetadataKeyIsNotFound) {
  KeySet none;
  ASSERT_EQ(envector_keygen(opts("meta-none", R"(, "metadata_encryption": false)").c_str(), none.out(),
                            err.out()),
            ENVECTOR_OK)
      << err.msg();
  char *tok = kUntouchedStr;
  EXPECT_EQ(envector_metadata_encrypt(none.get(), bytes(kSecret), kSecret.size(), nullptr, 0, &tok, err.out()),
            ENVECTOR_ERR_NOT_FOUND);
  EXPECT_NE(err.msg().find("holds no MetadataKey"), std::string::npos) << err.msg();
  EXPECT_EQ(tok, kUntouchedStr);
  decrypt_fails(none.get(), encrypt(a_, kSecret), "", ENVECTOR_ERR_NOT_FOUND, "holds no MetadataKey");
}

TEST_F(Metadata, OnlyTheMetadataKeyLoadedFromAStore) {
  TempDir dir;
  Store st;
  ASSERT_EQ(envector_store_open(dir.store_options().c_str(), st.out(), err.out()), ENVECTOR_OK) << err.msg();
  ASSERT_EQ(envector_store_save(st.get(), a_, err.out()), ENVECTOR_OK) << err.msg();
  const int role = ENVECTOR_ROLE_METADATAKEY;
  KeySet meta;
  ASSERT_EQ(envector_store_load(st.get(), "meta-a", &role, 1, meta.out(), err.out()), ENVECTOR_OK) << err.msg();
  EXPECT_EQ(roles(meta.get()), std::vector<int>{ENVECTOR_ROLE_METADATAKEY});
  std::string out;
  ASSERT_EQ(decrypt(meta.get(), encrypt(a_, kSecret, "x"), "x", &out), ENVECTOR_OK) << err.msg();
  EXPECT_EQ(out, kSecret);
  ASSERT_EQ(decrypt(a_, encrypt(meta.get(), kSecret), "", &out), ENVECTOR_OK) << err.msg();
  EXPECT_EQ(out, kSecret);
}

} // namespace
