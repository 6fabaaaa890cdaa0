/* safetensors.h — a strict, mmap-based reader (and a small writer) for the
 * safetensors format: 8-byte little-endian header length, a JSON header
 * mapping names to {dtype, shape, data_offsets}, then the data blob.
 *
 * The reader validates everything a hostile file could lie about (header
 * length, dtypes, shapes vs byte sizes, offsets inside the blob, overlaps)
 * and never copies tensor data: SamStTensor.data points into the mapping,
 * which lives until sam_safetensors_close().
 */
#ifndef SAM_CORE_SAFETENSORS_H
#define SAM_CORE_SAFETENSORS_H

#include <glib.h>
#include <stdint.h>

typedef enum {
  SAM_DTYPE_F32,
  SAM_DTYPE_F16,
  SAM_DTYPE_BF16,
  SAM_DTYPE_F64,
  SAM_DTYPE_I8,
  SAM_DTYPE_U8,
  SAM_DTYPE_I16,
  SAM_DTYPE_I32,
  SAM_DTYPE_I64,
  SAM_DTYPE_BOOL,
  SAM_DTYPE_COUNT
} SamDtype;

const char *sam_dtype_name (SamDtype t);
size_t sam_dtype_size (SamDtype t);

#define SAM_ST_MAX_DIMS 8
#define SAM_ST_MAX_HEADER (100u * 1024u * 1024u)
#define SAM_ST_MAX_JSON_DEPTH 32        /* bracket nesting in the header */

/* The deepest bracket nesting of JSON text (outside strings), counted up
 * to a little past @max. json-glib recurses per level: check untrusted JSON
 * with this before parsing it, or a few MiB of '[' overflow the stack. */
int sam_json_depth (const void *text, size_t n, int max);

typedef struct {
  const char *name;
  SamDtype dtype;
  int ndim;
  int64_t shape[SAM_ST_MAX_DIMS];
  int64_t numel;
  const void *data;             /* into the mapping; not necessarily aligned */
  size_t nbytes;
} SamStTensor;

typedef struct _SamSafetensors SamSafetensors;

SamSafetensors *sam_safetensors_open (const char *path, GError ** error);
/* Parses an in-memory image (used by the fuzzer); @data must outlive the result. */
SamSafetensors *sam_safetensors_open_memory (const void *data, size_t len,
    GError ** error);
void sam_safetensors_close (SamSafetensors * st);

int sam_safetensors_n_tensors (const SamSafetensors * st);
const SamStTensor *sam_safetensors_tensor (const SamSafetensors * st, int i);
const SamStTensor *sam_safetensors_find (const SamSafetensors * st,
    const char *name);
/* A string value of "__metadata__", or NULL. (transfer none) */
const char *sam_safetensors_metadata (const SamSafetensors * st,
    const char *key);
const char *sam_safetensors_path (const SamSafetensors * st);

/* Converts @n elements of @t starting at element @first to float32. */
void sam_st_tensor_to_f32 (const SamStTensor * t, int64_t first, int64_t n,
    float *out);

float sam_bf16_to_f32 (uint16_t h);
uint16_t sam_f32_to_bf16 (float f);    /* round to nearest even */
float sam_f16_to_f32 (uint16_t h);
uint16_t sam_f32_to_f16 (float f);

/* ---- writer ---- */
typedef struct _SamStWriter SamStWriter;
SamStWriter *sam_st_writer_new (void);
/* @data is copied. */
void sam_st_writer_add (SamStWriter * w, const char *name, SamDtype dtype,
    int ndim, const int64_t * shape, const void *data);
void sam_st_writer_add_metadata (SamStWriter * w, const char *key,
    const char *value);
gboolean sam_st_writer_write (SamStWriter * w, const char *path,
    GError ** error);
/* The same file image in memory (g_free it); @len gets its size. */
guint8 *sam_st_writer_to_data (SamStWriter * w, gsize * len);
void sam_st_writer_free (SamStWriter * w);

#endif
