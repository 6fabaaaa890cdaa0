/* fuzz-quant.c — the quantized-model side tensors and metadata
 * (engine/model/quantized.c, sam_quant_state_init): I8 weights with their
 * '#scale', activation quantizers ('.input#qparams', '#scale'/'#zero'/
 * '#bits', '#hluq') and attention quantizers ('#agq', '#lnq', '#drq',
 * '#qkv'), plus __metadata__ "samseg.quant".
 *
 * A real model must pass the full manifest check first (tens of MB), far
 * beyond fuzzing sizes, so the harness builds the model the loader would
 * have built from a small safetensors image: every tensor without '#' is a
 * "checked" weight (F32 in place, I8 with a valid '#scale' as a quantized
 * one), the hyper-parameters are tiny's. Then it runs the quantization
 * loader and frees the model. */
#include "fuzz-common.h"
#include "model/model.h"
#include "model/quantized.h"

#include <string.h>

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_quiet_glib ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  GError *err = NULL;
  SamSafetensors *st = sam_safetensors_open_memory (data, size, NULL);
  if (!st)
    return 0;

  SamModel *m = sam_model_new_empty (st);
  sam_hparams_for_variant ("tiny", &m->hp);
  for (int i = 0; i < sam_safetensors_n_tensors (st); i++) {
    const SamStTensor *t = sam_safetensors_tensor (st, i);
    if (strchr (t->name, '#'))
      continue;
    /* what model.c's load_one accepts (manifest shapes are 1-4-D, no 0) */
    gboolean quantized = sam_quant_tensor_ok (m, t, t->name);
    gboolean ok = t->ndim >= 1 && t->ndim <= 4 && t->numel > 0;
    if (t->dtype == SAM_DTYPE_I8 && (!quantized || !ok)) {
      sam_model_unref (m);      /* the loader refuses it before */
      return 0;
    }
    if (!ok || (!quantized && (t->dtype != SAM_DTYPE_F32
                || ((uintptr_t) t->data % 4) != 0)))
      continue;
    SamW *w = g_new0 (SamW, 1);
    w->name = t->name;
    w->ndim = t->ndim;
    memcpy (w->shape, t->shape, sizeof (int64_t) * t->ndim);
    w->numel = t->numel;
    w->data = quantized ? NULL : t->data;
    g_hash_table_insert (m->tensors, (gpointer) w->name, w);
  }
  if (sam_quant_state_init (m, &err)) {
    FUZZ_CHECK (sam_model_n_quantized (m) >= 0, "n_quantized");
    (void) sam_model_weight_bytes (m);
  } else {
    FUZZ_CHECK (err && err->message[0], "refused without a message");
    g_error_free (err);
  }
  sam_model_unref (m);          /* frees the quant state and @st */
  return 0;
}
