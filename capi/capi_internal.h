/* Internal to capi: what the Go files and envector.c share. Not installed. */
#ifndef ENVECTOR_CAPI_INTERNAL_H
#define ENVECTOR_CAPI_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* envectorc_alloc returns a buffer of n bytes (n may be 0) that envector_bytes_free,
 * envector_string_free and envector_string_list_free release, zeroing it first when
 * secret is not 0; NULL when out of memory. */
void *envectorc_alloc(size_t n, int secret);

/* envectorc_free releases a buffer of envectorc_alloc, as envector_bytes_free does. */
int envectorc_free(void *p);

#endif
