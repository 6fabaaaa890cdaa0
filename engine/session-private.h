/* session-private.h — SamSession internals shared by session.c (API,
 * prompts, objects) and track.c (the per-frame track step). */
#ifndef SAM_SESSION_PRIVATE_H
#define SAM_SESSION_PRIVATE_H

#include "sam/sam.h"
#include "model/model.h"
#include "nn/nn.h"
#include "memory-bank.h"

#define SAM_SESSION_MAX_OBJECTS 64
#define SAM_MEM_DIM 64
#define SAM_HIDDEN 256

typedef struct _SamObject SamObject;

struct _SamObject
{
  guint32 id;
  SamMemoryBank *bank;
  /* prompt for the next frame: box corners (labels 2, 3) first, then clicks */
  int n_pending;
  float pending_xy[2 * (SAM_MAX_POINTS_PER_PROMPT + 2)];
  gint32 pending_labels[SAM_MAX_POINTS_PER_PROMPT + 2];
  guint64 prompt_order;         /* order of the first pending prompt (0: none) */
  /* last result */
  float *low_res;               /* [S/4 * S/4] */
  float *logits;                /* frame resolution, reallocated on size change */
  gsize logits_len;
  float obj_ptr[SAM_HIDDEN];
  float object_score, iou;
  gboolean is_cond;
};

struct _SamSession
{
  SamModel *model;
  SamSessionParams params;
  int S;
  SamPool *pool;
  SamTap tap;
  GPtrArray *objects;           /* SamObject*, creation order */
  guint64 frame_index;
  guint64 prompt_counter;
  gboolean poisoned;
  int frame_w, frame_h;
  /* per-frame scratch */
  SamImageFeatures feats;
  float *maskmem_pos;           /* [H2*H2, 64], the same for every memory */
  float *dense_pe;              /* [H2*H2, 256] get_dense_pe(), the same for
                                 * every frame and object */
  gboolean have_maskmem_pos;
  /* memory attention's object-independent start on the current frame
   * (sam_memory_attention_shared), [H2*H2, 256] each; computed by the
   * first object that tracks from memory on a frame */
  float *memattn_x1, *memattn_q0;
  gboolean have_memattn_shared;
  GArray *results;              /* SamObjectResult */
  SamTimings timings;
  /* reference call counters for taps (heads{n}, memattn{n}, memenc{n}) */
  int n_heads_calls, n_memattn_calls, n_memenc_calls;
};

SamObject *sam_object_new (SamSession * s, guint32 id);
void sam_object_free (SamObject * o);
SamObject *sam_session_find_object (SamSession * s, guint32 obj_id);

#endif
