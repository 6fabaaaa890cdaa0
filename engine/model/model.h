/* model.h — the internal view of a loaded SAM 2.1 model: hyper-parameters
 * derived from tensor shapes, and checked name → float32 tensor lookup.
 *
 * Every tensor the architecture needs is checked at load time against the
 * shapes that follow from the variant's hyper-parameters (manifest.c), so
 * lookups during inference cannot fail: sam_model_w() returns a valid tensor
 * or is a programming error.
 */
#ifndef SAM_MODEL_MODEL_H
#define SAM_MODEL_MODEL_H

#include "sam/sam.h"
#include "core/safetensors.h"

#define SAM_MAX_BLOCKS 64
#define SAM_MAX_GLOBAL 8

typedef struct {
  const char *variant;          /* "tiny", "small", "base_plus", "large" */
  /* Hiera trunk */
  int embed_dim;                /* stage-0 channels */
  int num_heads;                /* stage-0 heads */
  int stages[4];                /* blocks per stage */
  int n_blocks;
  int stage_ends[4];
  int global_att_blocks[SAM_MAX_GLOBAL];
  int n_global;
  int window_spec[4];
  int bkg_size[2];              /* window_pos_embed_bkg_spatial_size */
  /* per block, derived */
  int blk_dim[SAM_MAX_BLOCKS], blk_dim_out[SAM_MAX_BLOCKS];
  int blk_heads[SAM_MAX_BLOCKS], blk_window[SAM_MAX_BLOCKS];
  int blk_q_pool[SAM_MAX_BLOCKS];       /* 1: q stride 2x2 pooling */
  /* SAM heads */
  int d_model;                  /* 256 */
  int mem_dim;                  /* 64 */
  int num_maskmem;              /* 7 */
  int image_size;               /* 1024 */
  int mem_attn_layers;          /* 4 */
} SamHParams;

typedef struct {
  const char *name;
  int ndim;
  int64_t shape[4];
  int64_t numel;
  const float *data;            /* NULL for an int8 (quantized) weight: run
                                 * it through sam_model_linear () */
} SamW;

typedef struct _SamQState SamQState;

struct _SamModel {
  gint refcount;
  SamSafetensors *st;
  SamHParams hp;
  GHashTable *tensors;          /* name -> SamW* */
  GPtrArray *owned;             /* float buffers converted from F16/BF16 */
  SamQState *q;                 /* per-layer linear dispatch (quantized.c) */
  guint64 fingerprint;          /* sam_model_fingerprint's cache; 0: not yet */
  GMutex derived_lock;          /* guards derived */
  GHashTable *derived;          /* key -> float table (sam_model_derived) */
};

/* A model with no tensors yet, owning @st: the loader's start, and the
 * quantized-file fuzzer's, which fills the tensors itself. */
SamModel *sam_model_new_empty (SamSafetensors * st);

/* The loader behind sam_model_load() on an opened file (the fuzzer gives it
 * sam_safetensors_open_memory()). Takes ownership of @st, also on failure. */
SamModel *sam_model_new_from_safetensors (SamSafetensors * st,
    GError ** error);

/* Enumerates every tensor of the architecture with its shape. */
typedef void (*SamManifestFunc) (const char *name, int ndim,
    const int64_t * shape, void *user_data);
void sam_manifest_foreach (const SamHParams * hp, SamManifestFunc func,
    void *user_data);

/* Hyper-parameters of a named variant ("tiny", ...); FALSE if unknown. */
gboolean sam_hparams_for_variant (const char *variant, SamHParams * hp);
void sam_hparams_derive (SamHParams * hp);

/* A table that depends only on the model and @key (e.g. a position
 * encoding for one input size): made by @make (n_floats floats into out)
 * on the first call for @key and kept with the model, which sessions
 * share; made outside the lock, a racing second table is dropped (same
 * values). */
typedef void (*SamDerivedFunc) (float *out, void *user_data);
const float *sam_model_derived (const SamModel * m, const char *key,
    gsize n_floats, SamDerivedFunc make, void *user_data);

/* Checked lookups; the name is printf-formatted. */
const SamW *sam_model_w (const SamModel * m, const char *fmt, ...)
    G_GNUC_PRINTF (2, 3);
/* Shortcut for the data pointer. */
const float *sam_model_wd (const SamModel * m, const char *fmt, ...)
    G_GNUC_PRINTF (2, 3);

#endif
