/* fuzz-model-load.c — the model loader (engine/model/model.c) on arbitrary
 * safetensors images: variant detection from the patch-embedding shape and
 * the trunk block count, then the per-tensor checks (missing, wrong shape,
 * wrong dtype, unknown tensors). Every refusal must carry a message; an
 * accepted model must be a known variant. The corpus holds small files that
 * reach each check (a full model is far beyond libFuzzer's input sizes). */
#include "fuzz-common.h"
#include "model/model.h"

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
  SamSafetensors *st = sam_safetensors_open_memory (data, size, &err);

  if (!st) {
    FUZZ_CHECK (err && err->message[0], "reader refused without a message");
    g_error_free (err);
    return 0;
  }
  SamModel *m = sam_model_new_from_safetensors (st, &err);
  if (!m) {
    FUZZ_CHECK (err && err->domain == SAM_ERROR && err->message[0],
        "loader refused without a message");
    g_error_free (err);
    return 0;
  }
  const char *v = sam_model_variant (m);
  FUZZ_CHECK (v && (!strcmp (v, "tiny") || !strcmp (v, "small") ||
          !strcmp (v, "base_plus") || !strcmp (v, "large")), "variant");
  sam_model_unref (m);
  return 0;
}
