/*
 * envector.h: the C ABI of envector-keys (libenvector.so.0).
 *
 * envector-keys creates, seals, verifies and stores the key set of a CKKS-encrypted
 * vector-search system. One Go core does the work; this header is its stable C
 * contract, and the Python and Node bindings are thin layers over it.
 *
 * Conventions (every function follows them unless its comment says otherwise)
 * ----------------------------------------------------------------------------
 * Status.   Functions return an int: ENVECTOR_OK (0) or one of the ENVECTOR_ERR_*
 *           codes below. The codes are stable; new ones may be added, so treat an
 *           unknown code like ENVECTOR_ERR_INTERNAL.
 *
 * Errors.   The last parameter, `envector_error **err`, is optional. When it is not
 *           NULL and the call fails, *err receives a new error object (code + message)
 *           that the caller owns and frees with envector_error_free. On success *err is
 *           not written. Messages say where the error comes from and what is accepted;
 *           they never contain key material, seeds or KEKs.
 *
 * Failure.  On failure every other out-parameter is left untouched, and nothing the
 *           caller owns has been modified.
 *
 * Handles.  envector_keyset and envector_store are opaque handles made by this library
 *           and freed by the caller with the matching _free. A handle is a number in a
 *           table, not a pointer to memory: passing NULL, a freed handle, a handle of the
 *           other type, or any value the library never returned is
 *           ENVECTOR_ERR_INVALID_ARGUMENT with a message, never a crash. Freeing a
 *           handle twice returns ENVECTOR_ERR_INVALID_ARGUMENT. envector_error objects
 *           are checked the same way.
 *
 * Memory.   Bytes and strings the library returns are allocated by the library and
 *           owned by the caller, who frees them with envector_bytes_free /
 *           envector_string_free / envector_string_list_free (never with free(3)).
 *           Buffers that held secret key material are zeroed before they are released.
 *           Inputs are only read during the call; the library keeps no pointer to them.
 *
 * Strings.  const char * inputs are NUL-terminated UTF-8; invalid UTF-8 is
 *           ENVECTOR_ERR_INVALID_ARGUMENT.
 *
 * Options.  Options cross the ABI as one UTF-8 JSON object, so new options never break
 *           the ABI. Keys (absent or null = the default):
 *             key_id               string   key set id: 1-128 of [A-Za-z0-9._-], starting
 *                                           with a letter or digit (envector_keygen: required)
 *             preset               string   enVector's preset: "ip3" (default), "ip2", "ip1",
 *                                           "ip0", "ip" (= ip0), "qf0", "qf1"; any case
 *             eval_mode            string   "mm32", "mm", "mms", "mms32", "rmp", "flat" or
 *                                           "single"; any case (default: the preset's, mm32
 *                                           with ip3, mm with ip1 and ip2, rmp with ip0)
 *             dim_list             [int]    powers of two from 32 to 4096, not empty
 *                                           (default [32, 64, ..., 4096])
 *             metadata_encryption  bool     make a MetadataKey (default true)
 *             seal_mode            string   "none" (default) or "aes"; see envector_keygen
 *             seal_kek_path        string   file holding the KEK of seal_mode "aes" (forms
 *                                           as envector_seal)
 *             key_store            string   "local" (default) or "aws"
 *             key_path             string   local store directory (default "./keys")
 *             region_name          string   AWS region, e.g. "us-east-1" (key_store "aws":
 *                                           required)
 *             bucket_name          string   S3 bucket (default "envector-key-storage")
 *             secret_prefix        string   S3/Secrets Manager prefix (default "envector/keys";
 *                                           "" = no prefix)
 *             aws_timeout_seconds  number   key_store "aws" only: the longest one AWS request
 *                                           may go without progress (nothing sent or
 *                                           received), in seconds, fractions allowed;
 *                                           accepted: above 0, at most 3600; default 30. A
 *                                           request that times out fails, not retried; a
 *                                           slow transfer that keeps moving is never cut
 *             seed                 string   128 hex characters (64 bytes): deterministic
 *                                           generation, for tests only
 *             lifetime_days        number   how long new keys are usable, in days (fractions
 *                                           allowed: 1/24 is an hour): expires_at = created_at
 *                                           + lifetime; accepted: 1 hour to 100 years (36500);
 *                                           default 1825 (43,800 hours, 5 years, as enVector)
 *             reason               string   envector_store_rotate: why, recorded in the
 *                                           earlier version as it is deactivated (default
 *                                           "superseded by version N")
 *           envector_init also reads (the others ignore them, as any known key):
 *             auto_key_setup       bool     make the key set when the store has none
 *                                           (default true)
 *             address              string   the enVector server whose key endpoint gets the
 *                                           EvalKey: host:port, grpc://host:port (plaintext)
 *                                           or grpcs://host:port (TLS); absent or "" = no
 *                                           registration
 *             token_file           string   file holding the server's bearer token (instead
 *                                           of the token argument)
 *             tls                  bool     connect with TLS (default false; grpcs:// also
 *                                           means TLS)
 *             ca_file              string   PEM certificates to trust for the server's
 *                                           certificate instead of the system's (implies TLS)
 *             timeout_seconds      number   each call to the server but the upload (default 30)
 *             register_timeout_seconds  number  the EvalKey's upload (default 1800)
 *           A key not in this list is ENVECTOR_ERR_INVALID_ARGUMENT naming the key; so
 *           are a value of the wrong JSON type, a repeated key, anything after the
 *           object, and a text over 1 MiB. Each function reads the keys it needs and
 *           ignores the other known keys (after checking their types, and the values of
 *           seal_mode and key_store), so one options object may be given to both
 *           envector_keygen and envector_store_open.
 *
 * Thread safety
 * -------------
 * Every function may be called from any thread at any time. Handles are immutable
 * once made (sealing, unsealing and loading return new handles), so one handle may be
 * used from several threads at once. Freeing a handle while another thread is still
 * using it is safe: calls already under way finish normally, later calls fail with
 * ENVECTOR_ERR_INVALID_ARGUMENT, and the key material is wiped when the last call
 * returns. Errors, bytes and strings returned to the caller belong to the caller.
 *
 * Processes
 * ---------
 * The library runs a Go runtime, which does not survive fork() without exec(): a
 * child process must not call into the library after fork().
 */
#ifndef ENVECTOR_H
#define ENVECTOR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define ENVECTOR_API __attribute__((visibility("default")))
#else
#define ENVECTOR_API
#endif

/* The version of this header. envector_version() gives the library's. */
#define ENVECTOR_VERSION_MAJOR 0
#define ENVECTOR_VERSION_MINOR 3
#define ENVECTOR_VERSION_PATCH 0
#define ENVECTOR_VERSION_STRING "0.3.0"

/* Status codes. Their values are the Go core's error kinds (core.Kind). */
#define ENVECTOR_OK 0
#define ENVECTOR_ERR_INVALID_ARGUMENT 1 /* the caller passed something not accepted */
#define ENVECTOR_ERR_NOT_FOUND 2        /* a key set, role, file, object or secret is absent */
#define ENVECTOR_ERR_ALREADY_EXISTS 3   /* the target holds keys already; nothing overwritten */
#define ENVECTOR_ERR_AUTH 4             /* wrong KEK or MetadataKey, or sealed data or token altered */
#define ENVECTOR_ERR_CORRUPT 5          /* data does not parse or does not check out */
#define ENVECTOR_ERR_IO 6               /* the local file system failed */
#define ENVECTOR_ERR_REMOTE 7           /* a remote store (AWS) failed */
#define ENVECTOR_ERR_INTERNAL 8         /* a bug or broken invariant inside the library */
#define ENVECTOR_ERR_KEY_INACTIVE 9     /* the key set is not active (preparing, deactivated,
                                           destroyed) or has expired: refused for use */

/* Roles: the four keys of a key set. SecKey and MetadataKey are secret. */
#define ENVECTOR_ROLE_SECKEY 0      /* CKKS secret key (SecKey.json, sec_blob) */
#define ENVECTOR_ROLE_ENCKEY 1      /* CKKS public encryption key (EncKey.json, enc_blob) */
#define ENVECTOR_ROLE_EVALKEY 2     /* CKKS evaluation keys (EvalKey.json, eval_blob) */
#define ENVECTOR_ROLE_METADATAKEY 3 /* AES-256 metadata key (MetadataKey.json, metadata_blob) */
#define ENVECTOR_ROLE_COUNT 4

/* Flags of envector_store_delete. */
#define ENVECTOR_DELETE_IMMEDIATE 1u /* remote secrets: delete now, no recovery window */

/* A key set: SecKey, EncKey, EvalKey and (with metadata encryption) MetadataKey under
 * one key id and one set of parameters, possibly holding only some roles (after a
 * partial load), with its secret keys sealed or not. Immutable. */
typedef struct envector_keyset envector_keyset;

/* A key store: the local file system or AWS. */
typedef struct envector_store envector_store;

/* An error: a status code and a message. */
typedef struct envector_error envector_error;

/* ---------------------------------------------------------------------------------
 * Library
 * --------------------------------------------------------------------------------- */

/* The library version, e.g. "0.1.0": a static string, never freed, never NULL. */
ENVECTOR_API const char *envector_version(void);

/* ---------------------------------------------------------------------------------
 * Errors
 * --------------------------------------------------------------------------------- */

/* The status code of err (ENVECTOR_ERR_*). For NULL or an invalid or freed error:
 * ENVECTOR_ERR_INVALID_ARGUMENT. */
ENVECTOR_API int envector_error_code(const envector_error *err);

/* The message of err: UTF-8, NUL-terminated, owned by err and valid until
 * envector_error_free(err). For NULL or an invalid or freed error: a static string
 * saying so. Never NULL. */
ENVECTOR_API const char *envector_error_message(const envector_error *err);

/* Frees err. NULL: nothing to do, ENVECTOR_OK. An error freed before or never made
 * by the library: ENVECTOR_ERR_INVALID_ARGUMENT, nothing freed. */
ENVECTOR_API int envector_error_free(envector_error *err);

/* ---------------------------------------------------------------------------------
 * Memory returned by the library
 * --------------------------------------------------------------------------------- */

/* Frees a buffer returned by envector_keyset_blob, envector_keyset_blobs or
 * envector_metadata_decrypt, zeroing it first if it held secret key material or
 * decrypted metadata. The library keeps up to two freed public
 * buffers of 256 KiB or more (EvalKey and EncKey envelopes) to hand out again, so that
 * a host copying and freeing blobs does not fault in fresh memory for every key set;
 * secret buffers are never kept. NULL: nothing to do, ENVECTOR_OK. As with free(3),
 * passing a pointer the library did not return, or freeing twice, is undefined
 * behaviour; the library checks a marker in front of the buffer and returns
 * ENVECTOR_ERR_INVALID_ARGUMENT, freeing nothing, when it can tell. */
ENVECTOR_API int envector_bytes_free(uint8_t *data);

/* Frees a string returned by the library (envector_keyset_id,
 * envector_metadata_encrypt, envector_keyset_state_json, envector_store_list_sets,
 * envector_init).
 * Same rules as envector_bytes_free. */
ENVECTOR_API int envector_string_free(char *str);

/* Frees a string list returned by envector_store_list, strings included (one
 * allocation). Same rules as envector_bytes_free. */
ENVECTOR_API int envector_string_list_free(char **list);

/* ---------------------------------------------------------------------------------
 * Key sets
 * --------------------------------------------------------------------------------- */

/* Generates a new key set in memory (nothing is written anywhere) from options_json
 * (see Options): key_id (required), preset, eval_mode, dim_list, metadata_encryption,
 * seal_mode, seal_kek_path, seed and lifetime_days are used. The new key set is active,
 * version 1 of its key id. With seal_mode "aes" the secret keys
 * come back sealed under the KEK read from seal_kek_path (read before any key is
 * made), as envector_seal would seal them; seal_mode "aes" without seal_kek_path, or
 * seal_kek_path with seal_mode "none", is INVALID_ARGUMENT, so a caller asking for
 * sealed keys never gets plain ones by mistake.
 * On success *out receives a new key set the caller frees with envector_keyset_free.
 * Errors: INVALID_ARGUMENT (NULL pointer, bad JSON or option, a KEK file in no accepted
 * form), NOT_FOUND (no KEK file there), IO (the KEK file cannot be read), INTERNAL. */
ENVECTOR_API int envector_keygen(const char *options_json, envector_keyset **out,
                                 envector_error **err);

/* Frees a key set handle and wipes the secret key material it holds (once no call
 * on another thread is using it). Blobs already returned stay valid: they are the
 * caller's. NULL: nothing to do, ENVECTOR_OK. A handle freed before, or not a key set:
 * ENVECTOR_ERR_INVALID_ARGUMENT. */
ENVECTOR_API int envector_keyset_free(envector_keyset *ks);

/* Copies role's envelope (the JSON bytes of its key file or remote blob) into a new
 * buffer: *out_data receives it (not NUL-terminated) and *out_len its length. The
 * caller frees it with envector_bytes_free. For an unsealed secret role the buffer
 * holds the secret in the clear; envector_bytes_free zeroes it.
 * Errors: INVALID_ARGUMENT (bad handle, role outside 0..3, NULL out pointer),
 * NOT_FOUND (the key set does not hold role). */
ENVECTOR_API int envector_keyset_blob(const envector_keyset *ks, int role, uint8_t **out_data,
                                      size_t *out_len, envector_error **err);

/* Copies the envelope of every role ks holds in one call, as envector_keyset_blob
 * would one by one: for each role r (0..3), out_data[r] receives a new buffer the
 * caller frees with envector_bytes_free (zeroed there when it held a secret) and
 * out_lens[r] its length, or NULL and 0 when ks does not hold r. On failure nothing
 * is allocated and out_data and out_lens are left as they were.
 * Errors: INVALID_ARGUMENT (bad handle, NULL out pointer), INTERNAL. */
ENVECTOR_API int envector_keyset_blobs(const envector_keyset *ks,
                                       uint8_t *out_data[ENVECTOR_ROLE_COUNT],
                                       size_t out_lens[ENVECTOR_ROLE_COUNT], envector_error **err);

/* Lists the roles ks holds, in role order: out_roles (room for ENVECTOR_ROLE_COUNT
 * ints) receives them and *out_count their number.
 * Errors: INVALID_ARGUMENT (bad handle, NULL out pointer). */
ENVECTOR_API int envector_keyset_roles(const envector_keyset *ks,
                                       int out_roles[ENVECTOR_ROLE_COUNT], size_t *out_count,
                                       envector_error **err);

/* The key id of ks: *out_id receives a new NUL-terminated string the caller frees
 * with envector_string_free.
 * Errors: INVALID_ARGUMENT (bad handle, NULL out pointer). */
ENVECTOR_API int envector_keyset_id(const envector_keyset *ks, char **out_id,
                                    envector_error **err);

/* Whether any secret key of ks is sealed: *out_sealed receives 1 or 0.
 * Errors: INVALID_ARGUMENT (bad handle, NULL out pointer). */
ENVECTOR_API int envector_keyset_sealed(const envector_keyset *ks, int *out_sealed,
                                        envector_error **err);

/* Builds a key set from envelopes (the bytes of key files or blobs, as
 * envector_keyset_blob returns them): count entries, where blobs[i] (lens[i] bytes)
 * is the envelope of roles[i]. Every envelope is checked: its format must be its
 * role's, its kid must be key_id, its digests must match, and all must share one set
 * of parameters. Nothing is unsealed. The inputs are only read.
 * On success *out receives a new key set the caller frees with envector_keyset_free.
 * Errors: INVALID_ARGUMENT (NULL pointer, count 0, a role outside 0..3 or given twice,
 * bad key id), CORRUPT (an envelope does not parse or check out). */
ENVECTOR_API int envector_keyset_from_blobs(const char *key_id, const int *roles,
                                            const uint8_t *const *blobs, const size_t *lens,
                                            size_t count, envector_keyset **out,
                                            envector_error **err);

/* Seals the secret keys of ks (SecKey, MetadataKey) with AES-256-GCM under a KEK,
 * bound to the key id, role and parameters; EncKey and EvalKey are never sealed.
 * kek (kek_len bytes) is exactly 32 raw bytes, 64 hex characters, or 44 characters
 * of standard base64, each optionally followed by one newline; it is only read.
 * On success *out receives a new key set (ks is unchanged) the caller frees with
 * envector_keyset_free.
 * Errors: INVALID_ARGUMENT (bad handle, NULL pointer, a KEK in no accepted form, a key
 * already sealed). */
ENVECTOR_API int envector_seal(const envector_keyset *ks, const uint8_t *kek, size_t kek_len,
                               envector_keyset **out, envector_error **err);

/* Unseals the sealed keys of ks under kek (forms as envector_seal). On success *out
 * receives a new, unsealed key set the caller frees with envector_keyset_free.
 * Errors: INVALID_ARGUMENT (bad handle, NULL pointer, bad KEK form, a key not
 * sealed), AUTH (wrong KEK, or sealed data altered or moved to another key id or
 * role; the message names the key id and role), KEY_INACTIVE (a destroyed key set:
 * its secret keys were erased). */
ENVECTOR_API int envector_unseal(const envector_keyset *ks, const uint8_t *kek, size_t kek_len,
                                 envector_keyset **out, envector_error **err);

/* Checks that kek (kek_len bytes) is a KEK in a form envector_seal accepts: exactly 32
 * raw bytes, 64 hex characters, or 44 characters of standard base64, each optionally
 * followed by one newline. It parses the KEK as envector_seal does, keeps nothing and
 * wipes the key it parsed; kek is only read. A caller holding a KEK in memory checks it
 * with this before work that ends in sealing under it (envector_keygen, then
 * envector_seal: the default set takes seconds to make), so that a malformed KEK is
 * refused before any key is made. It checks the form only: it never tells a right KEK
 * from a wrong one (that shows when sealed keys are opened: ENVECTOR_ERR_AUTH).
 * Errors: INVALID_ARGUMENT (NULL kek, whatever kek_len; a KEK in no accepted form), with
 * the message envector_seal gives, which names the accepted forms and never holds the
 * KEK's bytes. */
ENVECTOR_API int envector_kek_check(const uint8_t *kek, size_t kek_len, envector_error **err);

/* Proves that the keys of ks belong together: what EncKey encrypts, SecKey decrypts,
 * and every evaluation key is a key under SecKey. Needs SecKey, EncKey and EvalKey.
 * Sealed keys are unsealed with kek first (forms as envector_seal); for an unsealed
 * key set pass kek = NULL, kek_len = 0.
 * Errors: INVALID_ARGUMENT (bad handle, sealed keys without a KEK, bad KEK form),
 * NOT_FOUND (a required role is missing), AUTH (wrong KEK), CORRUPT (the keys do not
 * belong together; the message names the key). */
ENVECTOR_API int envector_keyset_verify(const envector_keyset *ks, const uint8_t *kek,
                                        size_t kek_len, envector_error **err);

/* ---------------------------------------------------------------------------------
 * Metadata encryption
 *
 * The metadata stored beside each vector is encrypted with the key set's MetadataKey
 * in enVector's format, so that what this library encrypts enVector's SDK decrypts and
 * the other way round: AES-256-GCM with a fresh random 12-byte IV and optional
 * associated data (aad), giving the JSON {"encrypted_data", "iv", "tag"} (each
 * standard base64); the token is the standard base64 of that JSON. Metadata is UTF-8
 * text (enVector keeps it as a string). The key set must hold the MetadataKey
 * unsealed: load it (envector_store_load with the role ENVECTOR_ROLE_METADATAKEY is
 * enough) and, when envector_keyset_sealed says so, envector_unseal it first.
 * Messages never contain the metadata or the key.
 * --------------------------------------------------------------------------------- */

/* Encrypts plaintext (plaintext_len bytes of UTF-8 text, at most 64 MiB; NULL with
 * plaintext_len 0 is the empty text) with the MetadataKey of ks. aad (aad_len bytes;
 * NULL with aad_len 0 for none) is authenticated, not encrypted: the same bytes must
 * be given to decrypt. The inputs are only read. Each call uses a new random IV, so
 * two tokens of the same text differ.
 * On success *out_token receives a new NUL-terminated token (standard base64, ASCII)
 * the caller frees with envector_string_free.
 * Errors: INVALID_ARGUMENT (bad handle, NULL out_token, a NULL input with a non-zero
 * length, plaintext not UTF-8 or over 64 MiB, the MetadataKey sealed), NOT_FOUND (ks
 * holds no MetadataKey: made with metadata_encryption false, or not loaded),
 * INTERNAL. */
ENVECTOR_API int envector_metadata_encrypt(const envector_keyset *ks, const uint8_t *plaintext,
                                           size_t plaintext_len, const uint8_t *aad,
                                           size_t aad_len, char **out_token,
                                           envector_error **err);

/* Decrypts token (NUL-terminated: the base64 token of envector_metadata_encrypt or of
 * enVector's SDK, or its JSON form; surrounding white space, e.g. a final newline, is
 * ignored) with the MetadataKey of ks and the aad it was encrypted with (aad_len
 * bytes; NULL with aad_len 0 for none). The inputs are only read.
 * On success *out_plaintext receives a new buffer holding the metadata (not
 * NUL-terminated; never NULL, even when empty) and *out_len its length; the caller
 * frees it with envector_bytes_free, which zeroes it.
 * Errors: INVALID_ARGUMENT (bad handle, NULL token or out pointer, a NULL aad with a
 * non-zero length, a token of another shape, the MetadataKey sealed), NOT_FOUND (ks
 * holds no MetadataKey), AUTH (another MetadataKey, other aad, or an altered token:
 * GCM authentication failed). */
ENVECTOR_API int envector_metadata_decrypt(const envector_keyset *ks, const char *token,
                                           const uint8_t *aad, size_t aad_len,
                                           uint8_t **out_plaintext, size_t *out_len,
                                           envector_error **err);

/* ---------------------------------------------------------------------------------
 * Stores
 *
 * The store operations (save, load, exists, delete, list, and the key set lifecycle
 * functions below) may also fail with ENVECTOR_ERR_IO (local file system),
 * ENVECTOR_ERR_REMOTE (an AWS call failed; the message names the bucket, object or
 * secret and the AWS error code) or ENVECTOR_ERR_AUTH (AWS credentials missing, invalid
 * or expired, or access denied).
 * --------------------------------------------------------------------------------- */

/* Opens the store options_json names (see Options): key_store, and key_path for
 * "local" or region_name, bucket_name, secret_prefix for "aws". Nothing is read or
 * written yet, and no network call is made: "aws" loads the standard AWS configuration
 * (credentials chain, AWS_ENDPOINT_URL* variables) and checks the names. On success
 * *out receives a new store the caller frees with envector_store_free.
 * Errors: INVALID_ARGUMENT (NULL pointer, bad JSON or option, a missing region, a bad
 * bucket name or prefix, an AWS configuration that cannot be loaded). */
ENVECTOR_API int envector_store_open(const char *options_json, envector_store **out,
                                     envector_error **err);

/* Frees a store handle. NULL: nothing to do, ENVECTOR_OK. A handle freed before, or not
 * a store: ENVECTOR_ERR_INVALID_ARGUMENT. */
ENVECTOR_API int envector_store_free(envector_store *store);

/* Saves every role ks holds under its key id, all or nothing. Never overwrites.
 * Errors: INVALID_ARGUMENT (bad handle), ALREADY_EXISTS (the store holds something of
 * that key id; nothing changed). */
ENVECTOR_API int envector_store_save(envector_store *store, const envector_keyset *ks,
                                     envector_error **err);

/* Loads key set key_id for use: the count roles listed in roles, or, with roles = NULL
 * and count = 0, every role present (which must include SecKey, EncKey and EvalKey).
 * Every envelope is checked, and all must be of one key set; nothing is unsealed. Only
 * an active, unexpired key set is loaded (envector_store_load_version reads one in any
 * state). On success *out receives a new key set the caller frees with
 * envector_keyset_free.
 * Errors: INVALID_ARGUMENT (bad handle, NULL pointer, bad key id, a role outside
 * 0..3), NOT_FOUND (the key set or a requested role is absent), CORRUPT (an envelope
 * does not check out, or the files are from different key sets), KEY_INACTIVE (the key
 * set is deactivated, destroyed or preparing, or has expired; the message says which). */
ENVECTOR_API int envector_store_load(const envector_store *store, const char *key_id,
                                     const int *roles, size_t count, envector_keyset **out,
                                     envector_error **err);

/* Whether key set key_id is complete in the store (SecKey, EncKey and EvalKey all
 * present): *out_exists receives 1 or 0.
 * Errors: INVALID_ARGUMENT (bad handle, NULL pointer, bad key id). */
ENVECTOR_API int envector_store_exists(const envector_store *store, const char *key_id,
                                       int *out_exists, envector_error **err);

/* Deletes key set key_id, with every earlier version kept by rotation. flags: 0, or
 * ENVECTOR_DELETE_IMMEDIATE to delete remote secrets at once instead of after the
 * store's recovery window (the local store always deletes at once).
 * Errors: INVALID_ARGUMENT (bad handle, NULL pointer, bad key id, unknown flag),
 * NOT_FOUND (no such key set). */
ENVECTOR_API int envector_store_delete(envector_store *store, const char *key_id,
                                       unsigned flags, envector_error **err);

/* Lists the key ids in the store, sorted. *out_ids receives a new NULL-terminated
 * array of *out_count NUL-terminated strings, in one allocation the caller frees
 * with envector_string_list_free. An empty store gives an array holding only NULL.
 * Errors: INVALID_ARGUMENT (bad handle, NULL out pointer). */
ENVECTOR_API int envector_store_list(const envector_store *store, char ***out_ids,
                                     size_t *out_count, envector_error **err);

/* ---------------------------------------------------------------------------------
 * Key set lifecycle
 *
 * A key set lives as enVector's SDK moves a key: preparing -> active -> deactivated ->
 * destroyed, one step at a time, each with a reason recorded in every envelope (with
 * the time and who made it: the OS user, method "sdk"). Only an active key set that
 * has not expired is loaded for use (envector_store_load); others are refused with
 * ENVECTOR_ERR_KEY_INACTIVE but can still be read with envector_store_load_version.
 * Destroying erases the secret keys' data (their envelopes stay, as tombstones); the
 * public keys stay. enVector's format has no "compromised" state: a compromise is
 * recorded in the reason ("compromised: <reason>") of a deactivation or destruction.
 *
 * Rotation makes a new key set under the same key id, version n+1, and keeps the
 * current one as earlier version n (deactivated if it was active), readable by its
 * number until the key id is deleted (envector_store_delete removes every version).
 *
 * A change is all or nothing in every store: a failure, or a crash at any point,
 * leaves the key set as it was; readers see the old set or the new one, never a mix.
 * A sealed key set needs its KEK for every change (its envelopes are authenticated
 * under it); an unsealed one refuses a KEK. KEKs take the forms of envector_seal; a
 * wrong one is ENVECTOR_ERR_AUTH and changes nothing.
 * --------------------------------------------------------------------------------- */

/* The life of ks as one JSON object (no key material): *out_json receives a new
 * NUL-terminated UTF-8 string the caller frees with envector_string_free:
 *   {"state": "active", "expires_at": "2031-12-01T08:36:15Z",
 *    "created_at": "2026-12-01T08:36:15Z", "version": 1, "set_id": "e1b0...",
 *    "reason": null, "compromised": false, "updated_at": "2026-12-01T08:36:15Z",
 *    "changed_by": null}
 * state: "preparing", "active", "deactivated" or "destroyed" (envelopes that disagree,
 * e.g. moved part way by another tool, give their states joined with "/", such as
 * "active/deactivated"); expires_at: the earliest expiry of its envelopes; version: the
 * key set's version under its key id (1 until rotated); set_id: the random id binding
 * its envelopes together (null for files without one, e.g. enVector's); reason,
 * updated_at, changed_by ({"entity", "method", "type"}): the last state change (reason
 * and changed_by null, updated_at the creation time, when none was made); compromised:
 * whether that change recorded a compromise. Times are RFC 3339, UTC.
 * Errors: INVALID_ARGUMENT (bad handle, NULL out_json). */
ENVECTOR_API int envector_keyset_state_json(const envector_keyset *ks, char **out_json,
                                            envector_error **err);

/* Moves stored key set key_id to another state. change_json is one JSON object:
 *   {"to": "deactivated", "reason": "rotated out", "compromised": false}
 * to (required; any case): "active" (from preparing), "deactivated" (from active) or
 * "destroyed" (from deactivated: erases the secret keys, which cannot be undone);
 * reason (required): why, 1 to 1024 printable characters; compromised (default false):
 * the keys are known or suspected exposed, recorded as "compromised: <reason>"; with
 * "deactivated" or "destroyed" only. A key not in this list is INVALID_ARGUMENT.
 * kek (kek_len bytes) is the KEK of a sealed key set; NULL and 0 for an unsealed one.
 * Errors: INVALID_ARGUMENT (bad handle, NULL pointer, bad change_json, a step that
 * skips a state or goes back, a key set already in that state, a sealed key set
 * without its KEK or an unsealed one with one, bad KEK form), NOT_FOUND (no such key
 * set), AUTH (wrong KEK), CORRUPT. */
ENVECTOR_API int envector_store_set_state(envector_store *store, const char *key_id,
                                          const char *change_json, const uint8_t *kek,
                                          size_t kek_len, envector_error **err);

/* Seals the secret keys of stored key set key_id under new_kek: unsealed with old_kek
 * first (the current KEK), or, with old_kek = NULL and old_kek_len = 0, sealed for the
 * first time (the key set must not be sealed). The keys themselves do not change, nor
 * does the public part; each secret's key_version goes up by one, as enVector's SDK
 * counts re-wrappings. Only an active key set is resealed. Both KEKs take the forms of
 * envector_seal and are only read.
 * Errors: INVALID_ARGUMENT (bad handle, NULL pointer, bad KEK form, a sealed key set
 * without old_kek or an unsealed one with it), NOT_FOUND (no such key set), AUTH (wrong
 * old_kek), KEY_INACTIVE (the key set is not active), CORRUPT. */
ENVECTOR_API int envector_store_reseal(envector_store *store, const char *key_id,
                                       const uint8_t *old_kek, size_t old_kek_len,
                                       const uint8_t *new_kek, size_t new_kek_len,
                                       envector_error **err);

/* Rotates key set key_id: makes a new key set under the same key id, version n+1, and
 * makes it the current one; the current one is kept as earlier version n, deactivated
 * if it was active (with reason, default "superseded by version N+1"). options_json
 * (see Options; "{}" for the defaults) may give preset, eval_mode and dim_list (all
 * absent: the current set's parameters; any given: the others take their defaults, as
 * in envector_keygen), metadata_encryption (default true), seed, lifetime_days and
 * reason; key_id, if given, must be key_id; seal_kek_path is refused (give the KEK as
 * kek). kek (kek_len bytes; NULL and 0 for none) is required when the current key set
 * is sealed: it authenticates the current set and seals the new one; given for an
 * unsealed set, it seals the new one (seal_mode, if given, must agree: "aes" with a
 * KEK, "none" without).
 * On success, when out is not NULL, *out receives the new key set (sealed when kek was
 * given) the caller frees with envector_keyset_free; out may be NULL.
 * Errors: INVALID_ARGUMENT (bad handle, NULL key_id or options_json, bad JSON or
 * option, a sealed key set without its KEK, bad KEK form), NOT_FOUND (no such key set),
 * AUTH (wrong KEK), CORRUPT, INTERNAL. */
ENVECTOR_API int envector_store_rotate(envector_store *store, const char *key_id,
                                       const char *options_json, const uint8_t *kek,
                                       size_t kek_len, envector_keyset **out,
                                       envector_error **err);

/* Loads version `version` of key set key_id whatever its state (it is asked for by
 * number, e.g. to read an earlier version's state, or decrypt metadata with its
 * MetadataKey): the current version, or an earlier one kept by rotation; version 0 is
 * the current version, whatever its number. roles and count as in envector_store_load
 * (NULL and 0: every role present). Every envelope is checked; nothing is unsealed. A
 * destroyed key set's secret keys hold no key data. On success *out receives a new key
 * set the caller frees with envector_keyset_free.
 * Errors: INVALID_ARGUMENT (bad handle, NULL pointer, bad key id, a negative version, a
 * role outside 0..3), NOT_FOUND (no such key set, version or role; the message lists
 * the versions kept), CORRUPT. */
ENVECTOR_API int envector_store_load_version(const envector_store *store, const char *key_id,
                                             int version, const int *roles, size_t count,
                                             envector_keyset **out, envector_error **err);

/* Describes what the store holds under each key id, sorted by key id, as one JSON
 * array: *out_json receives a new NUL-terminated UTF-8 string the caller frees with
 * envector_string_free:
 *   [{"key_id": "k1", "roles": ["SecKey", "EncKey", "EvalKey", "MetadataKey"],
 *     "complete": true, "versions": [1]}]
 * roles: those present at the current names, in role order; complete: SecKey, EncKey
 * and EvalKey are all present (a set left incomplete by a crash, a failed save or a
 * deleted file is listed with complete false; envector_store_delete removes it);
 * versions: the earlier versions kept by rotation, oldest first (the current one is
 * not listed). An empty store gives "[]".
 * Errors: INVALID_ARGUMENT (bad handle, NULL out_json). */
ENVECTOR_API int envector_store_list_sets(const envector_store *store, char **out_json,
                                          envector_error **err);

/* ---------------------------------------------------------------------------------
 * Init
 * --------------------------------------------------------------------------------- */

/* The init flow of enVector's SDK in one call: finds key set key_id in the store
 * options_json names (as envector_store_open) or, with auto_key_setup (the default),
 * generates it (options as envector_keygen: preset, eval_mode, dim_list,
 * metadata_encryption, lifetime_days, seed), seals it when a KEK is given, and saves it;
 * then, when address is given, makes that server's key endpoint hold and use its
 * EvalKey: registers it only if the server has no key of that key id (the server's
 * SHA-256 of a key it has must be ours: ALREADY_EXISTS otherwise), unloads the other
 * loaded keys and loads this one. Only an active, unexpired key set is used; another is
 * KEY_INACTIVE, never replaced. Several processes may run it at once for one key id:
 * one saves its key set, the others use it; the server stores the EvalKey once.
 *
 * kek (kek_len bytes; NULL and 0 for none; forms as envector_seal), or the file
 * seal_kek_path names (not both), seals a key set this call makes; seal_mode, if given,
 * must agree ("aes" with a KEK, "none" without). A sealed key set found must open under
 * it (its MACs checked, its SecKey unsealed and wiped): AUTH otherwise; a sealed set
 * found with no KEK, or an unsealed one found with a KEK, is INVALID_ARGUMENT.
 * token (NUL-terminated; NULL for none) is the server's bearer token, sent as
 * "authorization: Bearer <token>", never shown in a message: 1 to 4096 visible ASCII
 * characters. token_file (options) gives it from a file instead. A token, token_file,
 * tls, ca_file or a timeout without address is INVALID_ARGUMENT.
 *
 * When the registration fails and this call made the key set, it deletes the set again
 * (AWS secrets at once), and the EvalKey at the server if this call sent it, so that
 * the next call starts clean; the message says what was undone, and the status is the
 * registration's (AUTH for a refused token). A key set found is never deleted.
 *
 * On success *out_result_json receives a new NUL-terminated UTF-8 string the caller
 * frees with envector_string_free: one JSON object, no key material:
 *   {"key_id": "idx", "created": true, "sealed": false, "version": 1,
 *    "preset": "ip3", "eval_mode": "mm32", "dim_list": [32, 64, ..., 4096],
 *    "metadata_encryption": true, "eval_key_sha256": "9f2c...", "eval_key_size": 1234,
 *    "endpoint": {"address": "grpc://127.0.0.1:50051", "registered": true,
 *                 "unloaded": [], "loaded": true},
 *    "warnings": [],
 *    "registration_info": {"key_id": "idx", "preset": "ip3", "eval_mode": "mm32",
 *        "dim_list": [...], "envector_preset": "IP3", "envector_eval_mode": "MM32",
 *        "created": true, "sealed": false, "eval_key_sha256": "9f2c...",
 *        "eval_key_size": 1234}}
 * created: this call made and saved the key set; preset, eval_mode, dim_list: as the key
 * set records them (a set found keeps its own, whatever the options say); version: its
 * version under the key id; eval_key_sha256 (hex) and eval_key_size: the raw EvalKey as
 * register_key sends it; endpoint: null without address, else what was done there
 * (registered: the EvalKey was sent now; unloaded: the other keys unloaded; loaded: the
 * key was loaded now); warnings: the server's warnings (successes with a message);
 * registration_info: what the bindings' register callbacks receive.
 * Errors: INVALID_ARGUMENT (NULL options_json or out_result_json, bad JSON or option, a
 * bad address, token or KEK form), NOT_FOUND (no key set and auto_key_setup false: the
 * message says how to make one; a KEK, token or CA file that is not there), AUTH (wrong
 * KEK; the server refused the token), ALREADY_EXISTS (the server holds another EvalKey
 * under key_id), KEY_INACTIVE, CORRUPT, IO, REMOTE (an AWS store call failed, or the
 * server could not be reached, answered too late or failed), INTERNAL. */
ENVECTOR_API int envector_init(const char *options_json, const uint8_t *kek, size_t kek_len,
                               const char *token, char **out_result_json,
                               envector_error **err);

/* ---------------------------------------------------------------------------------
 * Command line
 * --------------------------------------------------------------------------------- */

/* Runs the envector-keygen command line: argv[0] is the program name, argv[1..argc-1]
 * the arguments (e.g. "generate", "--key_id", "k1"). Reads the process's standard
 * input, writes its standard output and error. Returns the exit status: 0 success,
 * 1 failure, 2 usage error (also for argc < 1 or argv NULL), 3 key set not active,
 * 4 not found, 5 authentication failed (wrong KEK, altered sealed data, AWS refused
 * the credentials), 6 already exists. Thread-safe, but the
 * standard streams are shared with the rest of the process. */
ENVECTOR_API int envector_cli_main(int argc, char *const argv[]);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ENVECTOR_H */
