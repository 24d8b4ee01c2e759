'use strict';
// koffi declarations of include/envector.h, one per function, with the header's exact
// shapes. Handles (envector_keyset *, envector_store *, envector_error *) are opaque
// pointers, which koffi gives and takes as BigInt values. Out-parameters are
// single-element arrays; library-allocated buffers come back as BigInt addresses
// (`void **`) that lib/ops.js copies and frees at once.

const koffi = require('koffi');
const { locate, HOW_TO_FIX } = require('./locate');

const where = locate();
let lib;
try {
  lib = koffi.load(where.path);
} catch (e) {
  const tried = where.tried.length ? ` Looked in: ${where.tried.join('; ')}; then the system library path.` : '';
  throw new Error(`envector-keys: cannot load libenvector (${where.path}, from ${where.from}): ${e.message}.${tried} ${HOW_TO_FIX}`, { cause: e });
}

koffi.opaque('envector_keyset');
koffi.opaque('envector_store');
koffi.opaque('envector_error');

const decl = {
  // library and errors
  envector_version: 'const char *envector_version(void)',
  envector_error_code: 'int envector_error_code(const envector_error *err)',
  envector_error_message: 'const char *envector_error_message(const envector_error *err)',
  envector_error_free: 'int envector_error_free(envector_error *err)',
  // memory returned by the library
  envector_bytes_free: 'int envector_bytes_free(void *data)',
  envector_string_free: 'int envector_string_free(void *str)',
  envector_string_list_free: 'int envector_string_list_free(void *list)',
  // key sets
  envector_keygen: 'int envector_keygen(const char *options_json, _Out_ envector_keyset **out, _Out_ envector_error **err)',
  envector_keyset_free: 'int envector_keyset_free(envector_keyset *ks)',
  envector_keyset_blob: 'int envector_keyset_blob(const envector_keyset *ks, int role, _Out_ void **out_data, _Out_ size_t *out_len, _Out_ envector_error **err)',
  // out_data and out_lens (arrays of ENVECTOR_ROLE_COUNT) are given as BigUint64Arrays,
  // which the library fills in place: pointers and size_t are 64 bits on the platforms
  // the package supports (package.json "os": linux, 64-bit).
  envector_keyset_blobs: 'int envector_keyset_blobs(const envector_keyset *ks, void *out_data, void *out_lens, _Out_ envector_error **err)',
  envector_keyset_roles: 'int envector_keyset_roles(const envector_keyset *ks, _Out_ int *out_roles, _Out_ size_t *out_count, _Out_ envector_error **err)',
  envector_keyset_id: 'int envector_keyset_id(const envector_keyset *ks, _Out_ void **out_id, _Out_ envector_error **err)',
  envector_keyset_sealed: 'int envector_keyset_sealed(const envector_keyset *ks, _Out_ int *out_sealed, _Out_ envector_error **err)',
  envector_keyset_from_blobs: 'int envector_keyset_from_blobs(const char *key_id, const int *roles, const uint8_t **blobs, const size_t *lens, size_t count, _Out_ envector_keyset **out, _Out_ envector_error **err)',
  envector_seal: 'int envector_seal(const envector_keyset *ks, const uint8_t *kek, size_t kek_len, _Out_ envector_keyset **out, _Out_ envector_error **err)',
  envector_unseal: 'int envector_unseal(const envector_keyset *ks, const uint8_t *kek, size_t kek_len, _Out_ envector_keyset **out, _Out_ envector_error **err)',
  envector_kek_check: 'int envector_kek_check(const uint8_t *kek, size_t kek_len, _Out_ envector_error **err)',
  envector_keyset_verify: 'int envector_keyset_verify(const envector_keyset *ks, const uint8_t *kek, size_t kek_len, _Out_ envector_error **err)',
  // metadata encryption
  envector_metadata_encrypt: 'int envector_metadata_encrypt(const envector_keyset *ks, const uint8_t *plaintext, size_t plaintext_len, const uint8_t *aad, size_t aad_len, _Out_ void **out_token, _Out_ envector_error **err)',
  envector_metadata_decrypt: 'int envector_metadata_decrypt(const envector_keyset *ks, const char *token, const uint8_t *aad, size_t aad_len, _Out_ void **out_plaintext, _Out_ size_t *out_len, _Out_ envector_error **err)',
  // stores
  envector_store_open: 'int envector_store_open(const char *options_json, _Out_ envector_store **out, _Out_ envector_error **err)',
  envector_store_free: 'int envector_store_free(envector_store *store)',
  envector_store_save: 'int envector_store_save(envector_store *store, const envector_keyset *ks, _Out_ envector_error **err)',
  envector_store_load: 'int envector_store_load(const envector_store *store, const char *key_id, const int *roles, size_t count, _Out_ envector_keyset **out, _Out_ envector_error **err)',
  envector_store_exists: 'int envector_store_exists(const envector_store *store, const char *key_id, _Out_ int *out_exists, _Out_ envector_error **err)',
  envector_store_delete: 'int envector_store_delete(envector_store *store, const char *key_id, unsigned int flags, _Out_ envector_error **err)',
  envector_store_list: 'int envector_store_list(const envector_store *store, _Out_ void **out_ids, _Out_ size_t *out_count, _Out_ envector_error **err)',
  // key set lifecycle
  envector_keyset_state_json: 'int envector_keyset_state_json(const envector_keyset *ks, _Out_ void **out_json, _Out_ envector_error **err)',
  envector_store_set_state: 'int envector_store_set_state(envector_store *store, const char *key_id, const char *change_json, const uint8_t *kek, size_t kek_len, _Out_ envector_error **err)',
  envector_store_reseal: 'int envector_store_reseal(envector_store *store, const char *key_id, const uint8_t *old_kek, size_t old_kek_len, const uint8_t *new_kek, size_t new_kek_len, _Out_ envector_error **err)',
  envector_store_rotate: 'int envector_store_rotate(envector_store *store, const char *key_id, const char *options_json, const uint8_t *kek, size_t kek_len, _Out_ envector_keyset **out, _Out_ envector_error **err)',
  envector_store_load_version: 'int envector_store_load_version(const envector_store *store, const char *key_id, int version, const int *roles, size_t count, _Out_ envector_keyset **out, _Out_ envector_error **err)',
  envector_store_list_sets: 'int envector_store_list_sets(const envector_store *store, _Out_ void **out_json, _Out_ envector_error **err)',
  // init
  envector_init: 'int envector_init(const char *options_json, const uint8_t *kek, size_t kek_len, const char *token, _Out_ void **out_result_json, _Out_ envector_error **err)',
  // command line
  envector_cli_main: 'int envector_cli_main(int argc, const char **argv)',
};

const fn = {};
for (const [name, proto] of Object.entries(decl)) {
  try {
    fn[name] = lib.func(proto);
  } catch (e) {
    throw new Error(`envector-keys: ${where.path} has no usable ${name} (${e.message}); the library is older than this package. ${HOW_TO_FIX}`, { cause: e });
  }
}

/** Roles, as include/envector.h numbers them. */
const ROLES = Object.freeze(['SecKey', 'EncKey', 'EvalKey', 'MetadataKey']);
/** ENVECTOR_DELETE_IMMEDIATE. */
const DELETE_IMMEDIATE = 1;

module.exports = { koffi, fn, ROLES, DELETE_IMMEDIATE, libraryPath: where.path, libraryFrom: where.from };
