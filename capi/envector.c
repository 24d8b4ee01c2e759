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
 * whether it held secrets; size is the length the caller asked for, capacity the room
 * after the header up to the end of its block (the malloc'd memory), offset where the
 * header sits in that block. 32 bytes keep the data as aligned as malloc's. */
typedef struct {
	uint64_t magic;
	uint64_t size;
	uint64_t capacity;
	uint64_t offset;
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

/* Double frees. A buffer is freed only when its pointer is in the set of live buffers
 * (below): the pointers envectorc_alloc returned and nobody has freed since. Anything
 * else (freed already, never returned by the library, a pointer into the middle of a
 * buffer) is ENVECTOR_ERR_INVALID_ARGUMENT, found without reading or writing the
 * memory it points to (which may be unmapped by now, or hold another buffer), so a
 * stale pointer never touches the buffer that now lives there. Two threads freeing the
 * same buffer at once: one wins, the other gets the error.
 *
 * A pointer is the caller's only token for its buffer, so a stale pointer equal to a
 * live one cannot be told from it: the library must never hand out an address again
 * while it holds the memory. It holds the blocks of the reuse cache below (the one
 * just freed always, when it has room for another buffer like it), and cuts each new
 * buffer from such a block one REUSE_STEP further in than the last, so no address of
 * a block is handed out twice; a block with no step left is freed, not kept. So a
 * double free is always detected while the library holds the memory: a large public
 * buffer (an EvalKey blob) freed twice with others made in between is refused, and the
 * buffer now cut from its memory is left alone. (A per-buffer serial number in the
 * header would not help: the caller passes back only the address.) Memory given back
 * to malloc (small and secret buffers at once, blocks that leave the cache) is out of
 * the library's sight: malloc may return the same address for a later buffer, and a
 * stale pointer to it is then that buffer's pointer (which is why the header calls
 * freeing twice undefined behaviour). */

/* The live set: an open-addressing hash set of data pointers (linear probing,
 * backward-shift deletion, at most half full), grown on demand and never shrunk, so
 * its size follows the most buffers live at once. It stores each pointer inverted
 * (~p, never 0 = empty), so the leak checkers (LeakSanitizer, valgrind) do not take
 * the set for a reference and still report a buffer the caller forgot. Guarded by
 * buffers_mu, like the reuse cache. */
static pthread_mutex_t buffers_mu = PTHREAD_MUTEX_INITIALIZER;
static uintptr_t *live_slots;
static size_t live_cap; /* a power of two, or 0 */
static size_t live_count;

static size_t live_home(uintptr_t key, size_t cap) {
	uint64_t x = (uint64_t)key >> 4;
	x *= UINT64_C(0x9e3779b97f4a7c15); /* Fibonacci hashing */
	return (size_t)(x >> 32) & (cap - 1);
}

/* live_index returns the slot of p, or live_cap when p is not live. */
static size_t live_index(const void *p) {
	uintptr_t key = ~(uintptr_t)p;
	if (live_cap == 0) return 0;
	for (size_t i = live_home(key, live_cap);; i = (i + 1) & (live_cap - 1)) {
		if (live_slots[i] == key) return i;
		if (live_slots[i] == 0) return live_cap;
	}
}

/* live_add adds p (not live); -1 when the set cannot grow (out of memory). */
static int live_add(const void *p) {
	if (2 * (live_count + 1) > live_cap) {
		size_t cap = live_cap != 0 ? 2 * live_cap : 64;
		uintptr_t *slots = calloc(cap, sizeof *slots);
		if (slots == NULL) return -1;
		for (size_t j = 0; j < live_cap; j++) {
			uintptr_t key = live_slots[j];
			if (key == 0) continue;
			size_t i = live_home(key, cap);
			while (slots[i] != 0) i = (i + 1) & (cap - 1);
			slots[i] = key;
		}
		free(live_slots);
		live_slots = slots;
		live_cap = cap;
	}
	uintptr_t key = ~(uintptr_t)p;
	size_t i = live_home(key, live_cap);
	while (live_slots[i] != 0) i = (i + 1) & (live_cap - 1);
	live_slots[i] = key;
	live_count++;
	return 0;
}

/* live_remove empties slot i and moves later entries of its probe run back, so every
 * entry stays reachable from its home slot without tombstones. */
static void live_remove(size_t i) {
	size_t mask = live_cap - 1;
	for (size_t j = i;;) {
		j = (j + 1) & mask;
		uintptr_t key = live_slots[j];
		if (key == 0) break;
		size_t home = live_home(key, live_cap);
		/* key may move back to i unless its home lies in the cyclic range (i, j]. */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			live_slots[i] = key;
			i = j;
		}
	}
	live_slots[i] = 0;
	live_count--;
}

/* Large public buffers (EvalKey and EncKey envelopes: megabytes) are kept for reuse
 * when freed, at most REUSE_SLOTS of them. A host that copies each blob and frees it
 * at once (the Python and Node bindings) would otherwise have malloc hand the memory
 * back to the kernel after every key set and fault it in again for the next, which
 * measurably costs more than the copy. Secret buffers are never kept: they are zeroed
 * and freed.
 *
 * Such a block is allocated with REUSE_SPARE bytes more than asked (~4 KiB: at most
 * 1.6% of a 256 KiB buffer), and each time it is issued again its header sits one
 * REUSE_STEP further in, so no two buffers cut from a block share an address (see
 * "Double frees" above). Once the next step would leave too little room for a buffer
 * like the one just freed, the block is freed instead of kept: for buffers of one
 * size, one malloc per REUSE_ISSUES of them. */
#define REUSE_MIN ((size_t)256 * 1024)
#define REUSE_SLOTS 2
#define REUSE_STEP sizeof(buffer_header)
#define REUSE_ISSUES 128
#define REUSE_SPARE (REUSE_STEP * (REUSE_ISSUES - 1))

/* A kept block: its start (so the leak checkers see it as reachable, not lost) and the
 * header of its next buffer, magic 0, with capacity and offset set for that position. */
typedef struct {
	void *block;
	buffer_header *next;
} reuse_slot;

static reuse_slot reuse[REUSE_SLOTS];

/* buffer_take returns a kept block's next header with room for n bytes and at most
 * twice that, or NULL. Called with buffers_mu held. */
static buffer_header *buffer_take(size_t n) {
	int best = -1;
	for (int i = 0; i < REUSE_SLOTS; i++) {
		buffer_header *c = reuse[i].next;
		if (c != NULL && c->capacity >= n && c->capacity / 2 <= n &&
		    (best < 0 || c->capacity < reuse[best].next->capacity)) {
			best = i;
		}
	}
	if (best < 0) return NULL;
	buffer_header *h = reuse[best].next;
	reuse[best].block = NULL;
	reuse[best].next = NULL;
	return h;
}

/* buffer_keep keeps the block of h (a public buffer no longer live) with its next
 * header one step further in, in an empty slot or in place of the kept block with the
 * least room, and returns the block to free: the one it displaced, h's own when that
 * has no room for another buffer like h, or NULL. The block just freed is always kept
 * when it has room, so the next buffer of its size is cut from it (at a new address)
 * rather than from malloc, which might hand back the address just freed. Called with
 * buffers_mu held. */
static void *buffer_keep(buffer_header *h) {
	void *block = (char *)h - h->offset;
	uint64_t least = h->size > REUSE_MIN ? h->size : REUSE_MIN;
	if (h->capacity < REUSE_STEP + least) return block;
	buffer_header *next = h + 1; /* REUSE_STEP further in */
	uint64_t capacity = h->capacity - REUSE_STEP, offset = h->offset + REUSE_STEP;
	wipe(h, sizeof *h);
	next->magic = 0;
	next->size = 0;
	next->capacity = capacity;
	next->offset = offset;
	int slot = 0;
	for (int i = 0; i < REUSE_SLOTS; i++) {
		if (reuse[i].next == NULL) {
			slot = i;
			break;
		}
		if (reuse[i].next->capacity < reuse[slot].next->capacity) slot = i;
	}
	void *out = reuse[slot].block;
	reuse[slot].block = block;
	reuse[slot].next = next;
	return out;
}

void *envectorc_alloc(size_t n, int secret) {
	int reusable = !secret && n >= REUSE_MIN;
	size_t spare = reusable ? REUSE_SPARE : 0;
	if (n > SIZE_MAX - sizeof(buffer_header) - spare) return NULL;
	buffer_header *h = NULL;
	if (reusable) {
		pthread_mutex_lock(&buffers_mu);
		h = buffer_take(n);
		pthread_mutex_unlock(&buffers_mu);
	}
	if (h == NULL) {
		h = malloc(sizeof(buffer_header) + n + spare);
		if (h == NULL) return NULL;
		h->capacity = n + spare;
		h->offset = 0;
	}
	h->magic = secret ? MAGIC_SECRET : MAGIC_PUBLIC;
	h->size = n;
	pthread_mutex_lock(&buffers_mu);
	int rc = live_add(h + 1);
	pthread_mutex_unlock(&buffers_mu);
	if (rc != 0) {
		free((char *)h - h->offset);
		return NULL;
	}
	return h + 1;
}

static int buffer_free(void *p) {
	if (p == NULL) return ENVECTOR_OK;
	pthread_mutex_lock(&buffers_mu);
	size_t i = live_index(p);
	if (i == live_cap) {
		pthread_mutex_unlock(&buffers_mu);
		return ENVECTOR_ERR_INVALID_ARGUMENT; /* freed already, or not ours */
	}
	live_remove(i);
	/* p is no longer live: this thread owns its block. */
	buffer_header *h = (buffer_header *)p - 1;
	void *block = NULL;
	if (h->magic == MAGIC_PUBLIC && h->capacity >= REUSE_MIN) {
		block = buffer_keep(h);
		pthread_mutex_unlock(&buffers_mu);
	} else {
		pthread_mutex_unlock(&buffers_mu);
		if (h->magic == MAGIC_SECRET) wipe(p, h->size);
		block = (char *)h - h->offset;
		wipe(h, sizeof *h);
	}
	free(block); /* NULL when the block was kept in an empty slot */
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

int envector_kek_check(const uint8_t *kek, size_t kek_len, envector_error **err) {
	uint64_t err_id = 0;
	int rc = envectorgo_kek_check((uint8_t *)kek, kek_len, ERR_ARG(err, err_id));
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

/* ---- key set lifecycle ----------------------------------------------------------- */

int envector_keyset_state_json(const envector_keyset *ks, char **out_json, envector_error **err) {
	uint64_t err_id = 0;
	int rc = envectorgo_keyset_state_json(ID(ks), out_json, ERR_ARG(err, err_id));
	return finish(rc, err_id, err);
}

int envector_store_set_state(envector_store *store, const char *key_id, const char *change_json,
                             const uint8_t *kek, size_t kek_len, envector_error **err) {
	uint64_t err_id = 0;
	int rc = envectorgo_store_set_state(ID(store), (char *)key_id, (char *)change_json,
	                                    (uint8_t *)kek, kek_len, ERR_ARG(err, err_id));
	return finish(rc, err_id, err);
}

int envector_store_reseal(envector_store *store, const char *key_id, const uint8_t *old_kek,
                          size_t old_kek_len, const uint8_t *new_kek, size_t new_kek_len,
                          envector_error **err) {
	uint64_t err_id = 0;
	int rc = envectorgo_store_reseal(ID(store), (char *)key_id, (uint8_t *)old_kek, old_kek_len,
	                                 (uint8_t *)new_kek, new_kek_len, ERR_ARG(err, err_id));
	return finish(rc, err_id, err);
}

int envector_store_rotate(envector_store *store, const char *key_id, const char *options_json,
                          const uint8_t *kek, size_t kek_len, envector_keyset **out,
                          envector_error **err) {
	uint64_t id = 0, err_id = 0;
	int rc = envectorgo_store_rotate(ID(store), (char *)key_id, (char *)options_json, (uint8_t *)kek,
	                                 kek_len, out != NULL ? &id : NULL, ERR_ARG(err, err_id));
	if (rc == ENVECTOR_OK && out != NULL) *out = HANDLE(envector_keyset, id);
	return finish(rc, err_id, err);
}

int envector_store_load_version(const envector_store *store, const char *key_id, int version,
                                const int *roles, size_t count, envector_keyset **out,
                                envector_error **err) {
	uint64_t id = 0, err_id = 0;
	int rc = envectorgo_store_load_version(ID(store), (char *)key_id, version, (int *)roles, count,
	                                       out != NULL ? &id : NULL, ERR_ARG(err, err_id));
	if (rc == ENVECTOR_OK) *out = HANDLE(envector_keyset, id);
	return finish(rc, err_id, err);
}

int envector_store_list_sets(const envector_store *store, char **out_json, envector_error **err) {
	uint64_t err_id = 0;
	int rc = envectorgo_store_list_sets(ID(store), out_json, ERR_ARG(err, err_id));
	return finish(rc, err_id, err);
}

/* ---- init ------------------------------------------------------------------------ */

int envector_init(const char *options_json, const uint8_t *kek, size_t kek_len, const char *token,
                  char **out_result_json, envector_error **err) {
	uint64_t err_id = 0;
	int rc = envectorgo_init((char *)options_json, (uint8_t *)kek, kek_len, (char *)token,
	                         out_result_json, ERR_ARG(err, err_id));
	return finish(rc, err_id, err);
}

/* ---- command line ---------------------------------------------------------------- */

int envector_cli_main(int argc, char *const argv[]) {
	return envectorgo_cli_main(argc, (char **)argv);
}
