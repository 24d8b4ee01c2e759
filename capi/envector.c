/* The functions of include/envector.h, with its exact prototypes (including the
 * header here makes the compiler check them). Each turns handles into table ids and
 * back and calls the Go side (exports.go, the envectorgo_* functions); the allocator
 * of returned buffers and the static strings live here. No key logic. */

#define _DEFAULT_SOURCE /* explicit_bzero */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../include/envector.h"
#include "capi_internal.h"
#include "_cgo_export.h"

/* Handles are table ids (never 0) carried in pointer-sized values; C never
 * dereferences them and Go never sees them as pointers. */
#define ID(h) ((uint64_t)(uintptr_t)(h))
#define HANDLE(type, id) ((type *)(uintptr_t)(id))

/* Writes the error id the Go side made, if the caller asked for errors. */
static int finish(int rc, uint64_t err_id, envector_error **err) {
	if (rc != ENVECTOR_OK && err != NULL && err_id != 0) {
		*err = HANDLE(envector_error, err_id);
	}
	return rc;
}

#define ERR_ARG(err, err_id) ((err) != NULL ? &(err_id) : NULL)

/* ---- buffers --------------------------------------------------------------------- */

/* Every buffer returned to the caller has this header in front. The magic word says
 * the memory is ours and whether it held secrets; size is the length after the
 * header, capacity what was allocated for it. 32 bytes keep the data as aligned as
 * malloc's. */
typedef struct {
	uint64_t magic;
	uint64_t size;
	uint64_t capacity;
	uint64_t reserved;
} buffer_header;

#define MAGIC_PUBLIC UINT64_C(0x2d66756263657665) /* "evecbuf-" */
#define MAGIC_SECRET UINT64_C(0x2b66756263657665) /* "evecbuf+" */

static void wipe(void *p, size_t n) {
#if defined(__GLIBC__)
	explicit_bzero(p, n);
#else
	volatile unsigned char *v = p;
	while (n--) *v++ = 0;
#endif
}

/* Large public buffers (EvalKey and EncKey envelopes: megabytes) are kept for reuse
 * when freed, at most REUSE_SLOTS of them. A host that copies each blob and frees it
 * at once (the Python and Node bindings) would otherwise have malloc hand the memory
 * back to the kernel after every key set and fault it in again for the next, which
 * measurably costs more than the copy. Secret buffers are never kept: they are zeroed
 * and freed. A kept buffer's magic is cleared, so freeing it twice is still an error. */
#define REUSE_MIN ((size_t)256 * 1024)
#define REUSE_SLOTS 2

static pthread_mutex_t reuse_mu = PTHREAD_MUTEX_INITIALIZER;
static buffer_header *reuse[REUSE_SLOTS];

/* take_reusable returns a kept buffer with room for n bytes and at most twice that, or
 * NULL. */
static buffer_header *take_reusable(size_t n) {
	buffer_header *h = NULL;
	pthread_mutex_lock(&reuse_mu);
	for (int i = 0; i < REUSE_SLOTS; i++) {
		buffer_header *c = reuse[i];
		if (c != NULL && c->capacity >= n && c->capacity / 2 <= n &&
		    (h == NULL || c->capacity < h->capacity)) {
			h = c;
		}
	}
	for (int i = 0; i < REUSE_SLOTS; i++)
		if (reuse[i] == h) reuse[i] = NULL;
	pthread_mutex_unlock(&reuse_mu);
	return h;
}

/* keep_or_free keeps h (a public buffer whose magic is cleared) in place of an empty
 * slot or the smallest smaller one, and frees whatever it displaces. */
static void keep_or_free(buffer_header *h) {
	pthread_mutex_lock(&reuse_mu);
	int slot = -1;
	for (int i = 0; i < REUSE_SLOTS; i++) {
		if (reuse[i] == NULL) {
			slot = i;
			break;
		}
		if (reuse[i]->capacity < h->capacity &&
		    (slot < 0 || reuse[i]->capacity < reuse[slot]->capacity)) {
			slot = i;
		}
	}
	buffer_header *out = h;
	if (slot >= 0) {
		out = reuse[slot];
		reuse[slot] = h;
	}
	pthread_mutex_unlock(&reuse_mu);
	free(out); /* NULL when a slot was empty */
}

void *envectorc_alloc(size_t n, int secret) {
	if (n > SIZE_MAX - sizeof(buffer_header)) return NULL;
	buffer_header *h = NULL;
	if (!secret && n >= REUSE_MIN) h = take_reusable(n);
	if (h == NULL) {
		h = malloc(sizeof(buffer_header) + n);
		if (h == NULL) return NULL;
		h->capacity = n;
	}
	h->magic = secret ? MAGIC_SECRET : MAGIC_PUBLIC;
	h->size = n;
	h->reserved = 0;
	return h + 1;
}

static int buffer_free(void *p) {
	if (p == NULL) return ENVECTOR_OK;
	buffer_header *h = (buffer_header *)p - 1;
	if (h->magic != MAGIC_PUBLIC && h->magic != MAGIC_SECRET) {
		return ENVECTOR_ERR_INVALID_ARGUMENT; /* not ours, or freed already */
	}
	if (h->magic == MAGIC_PUBLIC && h->capacity >= REUSE_MIN) {
		h->magic = 0;
		keep_or_free(h);
		return ENVECTOR_OK;
	}
	if (h->magic == MAGIC_SECRET) wipe(p, h->size);
	wipe(h, sizeof *h);
	free(h);
	return ENVECTOR_OK;
}

int envectorc_free(void *p) { return buffer_free(p); }

int envector_bytes_free(uint8_t *data) { return buffer_free(data); }

int envector_string_free(char *str) { return buffer_free(str); }

int envector_string_list_free(char **list) { return buffer_free(list); }

/* ---- library and errors ---------------------------------------------------------- */

const char *envector_version(void) { return ENVECTOR_VERSION_STRING; }

int envector_error_code(const envector_error *err) {
	if (err == NULL) return ENVECTOR_ERR_INVALID_ARGUMENT;
	return envectorgo_error_code(ID(err));
}

const char *envector_error_message(const envector_error *err) {
	const char *msg = err != NULL ? envectorgo_error_message(ID(err)) : NULL;
	return msg != NULL ? msg : "envector: invalid envector_error (NULL, freed, or not an error)";
}

int envector_error_free(envector_error *err) {
	if (err == NULL) return ENVECTOR_OK;
	return envectorgo_error_free(ID(err));
}

/* ---- key sets -------------------------------------------------------------------- */

int envector_keygen(const char *options_json, envector_keyset **out, envector_error **err) {
	uint64_t id = 0, err_id = 0;
	int rc = envectorgo_keygen((char *)options_json, out != NULL ? &id : NULL, ERR_ARG(err, err_id));
	if (rc == ENVECTOR_OK) *out = HANDLE(envector_keyset, id);
	return finish(rc, err_id, err);
}

int envector_keyset_free(envector_keyset *ks) {
	if (ks == NULL) return ENVECTOR_OK;
	return envectorgo_keyset_free(ID(ks));
}

int envector_keyset_blob(const envector_keyset *ks, int role, uint8_t **out_data, size_t *out_len,
                         envector_error **err) {
	uint64_t err_id = 0;
	int rc = envectorgo_keyset_blob(ID(ks), role, out_data, out_len, ERR_ARG(err, err_id));
	return finish(rc, err_id, err);
}

int envector_keyset_blobs(const envector_keyset *ks, uint8_t *out_data[ENVECTOR_ROLE_COUNT],
                          size_t out_lens[ENVECTOR_ROLE_COUNT], envector_error **err) {
	uint64_t err_id = 0;
	int rc = envectorgo_keyset_blobs(ID(ks), out_data, out_lens, ERR_ARG(err, err_id));
	return finish(rc, err_id, err);
}

int envector_keyset_roles(const envector_keyset *ks, int out_roles[ENVECTOR_ROLE_COUNT],
                          size_t *out_count, envector_error **err) {
	uint64_t err_id = 0;
	int rc = envectorgo_keyset_roles(ID(ks), out_roles, out_count, ERR_ARG(err, err_id));
	return finish(rc, err_id, err);
}

int envector_keyset_id(const envector_keyset *ks, char **out_id, envector_error **err) {
	uint64_t err_id = 0;
	int rc = envectorgo_keyset_id(ID(ks), out_id, ERR_ARG(err, err_id));
	return finish(rc, err_id, err);
}

int envector_keyset_sealed(const envector_keyset *ks, int *out_sealed, envector_error **err) {
	uint64_t err_id = 0;
	int rc = envectorgo_keyset_sealed(ID(ks), out_sealed, ERR_ARG(err, err_id));
	return finish(rc, err_id, err);
}

int envector_keyset_from_blobs(const char *key_id, const int *roles, const uint8_t *const *blobs,
                               const size_t *lens, size_t count, envector_keyset **out,
                               envector_error **err) {
	uint64_t id = 0, err_id = 0;
	int rc = envectorgo_keyset_from_blobs((char *)key_id, (int *)roles, (uint8_t **)blobs,
	                                      (size_t *)lens, count, out != NULL ? &id : NULL,
	                                      ERR_ARG(err, err_id));
	if (rc == ENVECTOR_OK) *out = HANDLE(envector_keyset, id);
	return finish(rc, err_id, err);
}

int envector_seal(const envector_keyset *ks, const uint8_t *kek, size_t kek_len,
                  envector_keyset **out, envector_error **err) {
	uint64_t id = 0, err_id = 0;
	int rc = envectorgo_seal(ID(ks), (uint8_t *)kek, kek_len, out != NULL ? &id : NULL,
	                         ERR_ARG(err, err_id));
	if (rc == ENVECTOR_OK) *out = HANDLE(envector_keyset, id);
	return finish(rc, err_id, err);
}

int envector_unseal(const envector_keyset *ks, const uint8_t *kek, size_t kek_len,
                    envector_keyset **out, envector_error **err) {
	uint64_t id = 0, err_id = 0;
	int rc = envectorgo_unseal(ID(ks), (uint8_t *)kek, kek_len, out != NULL ? &id : NULL,
	                           ERR_ARG(err, err_id));
	if (rc == ENVECTOR_OK) *out = HANDLE(envector_keyset, id);
	return finish(rc, err_id, err);
}

int envector_keyset_verify(const envector_keyset *ks, const uint8_t *kek, size_t kek_len,
                           envector_error **err) {
	uint64_t err_id = 0;
	int rc = envectorgo_keyset_verify(ID(ks), (uint8_t *)kek, kek_len, ERR_ARG(err, err_id));
	return finish(rc, err_id, err);
}

/* ---- metadata -------------------------------------------------------------------- */

int envector_metadata_encrypt(const envector_keyset *ks, const uint8_t *plaintext,
                              size_t plaintext_len, const uint8_t *aad, size_t aad_len,
                              char **out_token, envector_error **err) {
	uint64_t err_id = 0;
	int rc = envectorgo_metadata_encrypt(ID(ks), (uint8_t *)plaintext, plaintext_len,
	                                     (uint8_t *)aad, aad_len, out_token, ERR_ARG(err, err_id));
	return finish(rc, err_id, err);
}

int envector_metadata_decrypt(const envector_keyset *ks, const char *token, const uint8_t *aad,
                              size_t aad_len, uint8_t **out_plaintext, size_t *out_len,
                              envector_error **err) {
	uint64_t err_id = 0;
	int rc = envectorgo_metadata_decrypt(ID(ks), (char *)token, (uint8_t *)aad, aad_len,
	                                     out_plaintext, out_len, ERR_ARG(err, err_id));
	return finish(rc, err_id, err);
}

/* ---- stores ---------------------------------------------------------------------- */

int envector_store_open(const char *options_json, envector_store **out, envector_error **err) {
	uint64_t id = 0, err_id = 0;
	int rc = envectorgo_store_open((char *)options_json, out != NULL ? &id : NULL,
	                               ERR_ARG(err, err_id));
	if (rc == ENVECTOR_OK) *out = HANDLE(envector_store, id);
	return finish(rc, err_id, err);
}

int envector_store_free(envector_store *store) {
	if (store == NULL) return ENVECTOR_OK;
	return envectorgo_store_free(ID(store));
}

int envector_store_save(envector_store *store, const envector_keyset *ks, envector_error **err) {
	uint64_t err_id = 0;
	int rc = envectorgo_store_save(ID(store), ID(ks), ERR_ARG(err, err_id));
	return finish(rc, err_id, err);
}

int envector_store_load(const envector_store *store, const char *key_id, const int *roles,
                        size_t count, envector_keyset **out, envector_error **err) {
	uint64_t id = 0, err_id = 0;
	int rc = envectorgo_store_load(ID(store), (char *)key_id, (int *)roles, count,
	                               out != NULL ? &id : NULL, ERR_ARG(err, err_id));
	if (rc == ENVECTOR_OK) *out = HANDLE(envector_keyset, id);
	return finish(rc, err_id, err);
}

int envector_store_exists(const envector_store *store, const char *key_id, int *out_exists,
                          envector_error **err) {
	uint64_t err_id = 0;
	int rc = envectorgo_store_exists(ID(store), (char *)key_id, out_exists, ERR_ARG(err, err_id));
	return finish(rc, err_id, err);
}

int envector_store_delete(envector_store *store, const char *key_id, unsigned flags,
                          envector_error **err) {
	uint64_t err_id = 0;
	int rc = envectorgo_store_delete(ID(store), (char *)key_id, flags, ERR_ARG(err, err_id));
	return finish(rc, err_id, err);
}

int envector_store_list(const envector_store *store, char ***out_ids, size_t *out_count,
                        envector_error **err) {
	uint64_t err_id = 0;
	int rc = envectorgo_store_list(ID(store), out_ids, out_count, ERR_ARG(err, err_id));
	return finish(rc, err_id, err);
}

/* ---- command line ---------------------------------------------------------------- */

int envector_cli_main(int argc, char *const argv[]) {
	return envectorgo_cli_main(argc, (char **)argv);
}
