/* fixture.c — see fixture.h */
#include "fixture.h"
#include "sam/sam.h"

#include <math.h>
#include <string.h>

struct _SamFixture
{
  GPtrArray *files;             /* SamSafetensors* */
};

SamFixture *
sam_fixture_open (char **paths, int n_paths, GError ** error)
{
  SamFixture *fx = g_new0 (SamFixture, 1);
  fx->files = g_ptr_array_new_with_free_func ((GDestroyNotify)
      sam_safetensors_close);
  for (int i = 0; i < n_paths; i++) {
    SamSafetensors *st = sam_safetensors_open (paths[i], error);
    if (!st) {
      sam_fixture_free (fx);
      return NULL;
    }
    g_ptr_array_add (fx->files, st);
  }
  return fx;
}

void
sam_fixture_free (SamFixture * fx)
{
  if (!fx)
    return;
  g_ptr_array_unref (fx->files);
  g_free (fx);
}

const char *
sam_fixture_meta (const SamFixture * fx)
{
  for (guint i = 0; i < fx->files->len; i++) {
    const char *m = sam_safetensors_metadata (fx->files->pdata[i], "meta");
    if (m)
      return m;
  }
  return NULL;
}

const SamStTensor *
sam_fixture_find (const SamFixture * fx, const char *name)
{
  for (guint i = 0; i < fx->files->len; i++) {
    const SamStTensor *t = sam_safetensors_find (fx->files->pdata[i], name);
    if (t)
      return t;
  }
  return NULL;
}

float *
sam_fixture_get_f32 (const SamFixture * fx, const char *name, int64_t * numel)
{
  const SamStTensor *t = sam_fixture_find (fx, name);
  if (!t)
    return NULL;
  float *buf = g_new (float, t->numel > 0 ? t->numel : 1);
  sam_st_tensor_to_f32 (t, 0, t->numel, buf);
  if (numel)
    *numel = t->numel;
  return buf;
}

static int
cmp_str_ptr (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

GPtrArray *
sam_fixture_names (const SamFixture * fx)
{
  GPtrArray *names = g_ptr_array_new ();
  for (guint i = 0; i < fx->files->len; i++) {
    SamSafetensors *st = fx->files->pdata[i];
    for (int k = 0; k < sam_safetensors_n_tensors (st); k++)
      g_ptr_array_add (names, (gpointer) sam_safetensors_tensor (st, k)->name);
  }
  g_ptr_array_sort (names, cmp_str_ptr);
  return names;
}

double
sam_rel_l2 (const float *a, const float *b, int64_t n)
{
  double num = 0, den = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = (double) a[i] - (double) b[i];
    num += d * d;
    den += (double) b[i] * (double) b[i];
  }
  if (den == 0)
    return num == 0 ? 0 : INFINITY;
  return sqrt (num / den);
}

double
sam_sign_agree (const float *a, const float *b, int64_t n, float thresh)
{
  int64_t tot = 0, ok = 0;
  for (int64_t i = 0; i < n; i++) {
    if (fabsf (b[i]) <= thresh)
      continue;
    tot++;
    ok += (a[i] > 0) == (b[i] > 0);
  }
  return tot ? (double) ok / (double) tot : -1.0;
}
