/*-------------------------------------------------------------------------
 *
 * util.h
 *	  Small pure helpers of audit_chain_verify: hex, bytea text, the text
 *	  of a timestamptz, table names as a payload writes them, memory.
 *
 * Everything here works on a buffer and its length and keeps no state, so
 * the parsers that use it stay pure (the fuzzers call them directly).
 *
 * IDENTIFICATION
 *	  verifier/util.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AV_UTIL_H
#define AV_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AV_ERRLEN 256

extern void *av_malloc(size_t n);
extern void *av_realloc(void *p, size_t n);
extern char *av_strdup(const char *s);
extern char *av_strndup(const char *s, size_t n);
extern char *av_sprintf(const char *fmt,...) __attribute__((format(printf, 1, 2)));

extern void av_hex(const uint8_t *b, size_t n, char *out);
extern bool av_unhex(const char *s, size_t len, uint8_t *out, size_t n);
extern bool av_parse_bytea_hash(const char *s, size_t len, uint8_t *out);
extern bool av_parse_int64(const char *s, size_t len, int64_t *out);
extern bool av_parse_timestamptz(const char *s, size_t len, int64_t *us);
extern bool av_format_timestamptz(int64_t us, char *out, size_t outlen);
extern char *av_percent_encode(const char *s, size_t len);
extern char *av_printable(char *s);

#endif							/* AV_UTIL_H */
