/*-------------------------------------------------------------------------
 *
 * vectors.h
 *	  The test mode that reproduces test/vectors/v1.json.
 *
 * IDENTIFICATION
 *	  verifier/vectors.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AV_VECTORS_H
#define AV_VECTORS_H

extern int	av_test_vectors(const char *path);
extern int	av_test_timestamps(void);

#endif							/* AV_VECTORS_H */
