/* fuzz-safetensors.c — the safetensors reader (engine/core/safetensors.c) on
 * arbitrary bytes: header length (including huge ones), JSON header, dtypes,
 * shapes, data_offsets, overlaps, metadata. A file is either refused with a
 * message or every tensor it describes lies inside the data section, has
 * exactly numel × dtype-size bytes, does not overlap another one, and can be
 * read back. */
#include "fuzz-common.h"
#include "core/safetensors.h"
#include "sam/sam.h"

#include <string.h>

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_quiet_glib ();
  return 0;
}

static int
cmp_ptr (const void *a, const void *b)
{
  const SamStTensor *x = *(const SamStTensor * const *) a;
  const SamStTensor *y = *(const SamStTensor * const *) b;
  uintptr_t px = (uintptr_t) x->data, py = (uintptr_t) y->data;
  return px < py ? -1 : px > py;
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  GError *err = NULL;
  SamSafetensors *st = sam_safetensors_open_memory (data, size, &err);

  if (!st) {
    FUZZ_CHECK (err != NULL && err->domain == SAM_ERROR
        && err->message[0] != '\0', "refused without a message");
    g_error_free (err);
    return 0;
  }
  FUZZ_CHECK (err == NULL, "error set on success");
  FUZZ_CHECK (size >= 8, "accepted %zu bytes", size);
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--)
    hlen = (hlen << 8) | data[i];
  FUZZ_CHECK (hlen <= size - 8, "header length %llu > %zu",
      (unsigned long long) hlen, size - 8);
  const uint8_t *blob = data + 8 + hlen, *end = data + size;

  int n = sam_safetensors_n_tensors (st);
  FUZZ_CHECK (n >= 0, "n_tensors %d", n);
  const SamStTensor **sorted = g_new (const SamStTensor *, n + 1);
  float vals[16];
  for (int i = 0; i < n; i++) {
    const SamStTensor *t = sam_safetensors_tensor (st, i);
    FUZZ_CHECK (t && t->name, "tensor %d", i);
    FUZZ_CHECK (t->dtype < SAM_DTYPE_COUNT, "dtype %d", t->dtype);
    FUZZ_CHECK (t->ndim >= 0 && t->ndim <= SAM_ST_MAX_DIMS, "ndim %d",
        t->ndim);
    int64_t numel = 1;
    for (int d = 0; d < t->ndim; d++) {
      FUZZ_CHECK (t->shape[d] >= 0, "negative dim");
      numel *= t->shape[d];
    }
    FUZZ_CHECK (numel == t->numel, "numel %lld vs %lld", (long long) numel,
        (long long) t->numel);
    FUZZ_CHECK ((uint64_t) t->nbytes == (uint64_t) numel *
        sam_dtype_size (t->dtype), "'%s': %zu bytes", t->name, t->nbytes);
    const uint8_t *p = t->data;
    FUZZ_CHECK (p >= blob && p <= end && t->nbytes <= (size_t) (end - p),
        "'%s' outside the data section", t->name);
    /* the lookup by name finds a tensor of that name */
    const SamStTensor *f = sam_safetensors_find (st, t->name);
    FUZZ_CHECK (f && strcmp (f->name, t->name) == 0, "find '%s'", t->name);
    /* reading the first and last elements stays inside the buffer (ASan) */
    int64_t k = numel < 8 ? numel : 8;
    sam_st_tensor_to_f32 (t, 0, k, vals);
    if (numel > k)
      sam_st_tensor_to_f32 (t, numel - k, k, vals + 8);
    sorted[i] = t;
  }
  qsort (sorted, n, sizeof *sorted, cmp_ptr);
  /* no two non-empty tensors share a byte */
  const uint8_t *max_end = NULL;
  const char *max_name = NULL;
  for (int i = 0; i < n; i++) {
    const uint8_t *p = sorted[i]->data;
    if (sorted[i]->nbytes == 0)
      continue;
    FUZZ_CHECK (max_end == NULL || p >= max_end, "'%s' and '%s' overlap",
        max_name, sorted[i]->name);
    max_end = p + sorted[i]->nbytes;
    max_name = sorted[i]->name;
  }
  g_free (sorted);
  FUZZ_CHECK (sam_safetensors_tensor (st, n) == NULL, "index past the end");
  FUZZ_CHECK (sam_safetensors_tensor (st, -1) == NULL, "negative index");
  (void) sam_safetensors_metadata (st, "format");
  (void) sam_safetensors_metadata (st, "quantization");
  (void) sam_safetensors_find (st, "");
  sam_safetensors_close (st);
  return 0;
}
