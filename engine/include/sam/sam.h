/* sam.h — the public API of libsamseg-engine: a plain-C SAM 2.1 video tracker.
 *
 * A SamModel holds the weights (mmapped from a safetensors file with the
 * official SAM 2 state-dict key names) and is immutable after load: share it
 * across threads and sessions. A SamSession is one video stream: prompts,
 * the memory bank, the frame counter. Use a session from one thread at a time.
 *
 * Ownership: _new/_load return owned objects; _free/_unref release them.
 * Inputs are borrowed for the duration of a call. Results returned by
 * sam_session_process_frame() belong to the session and stay valid until the
 * next call on that session.
 */
#ifndef SAM_SAM_H
#define SAM_SAM_H

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define SAM_ERROR (sam_error_quark ())
GQuark sam_error_quark (void);

typedef enum {
  SAM_ERROR_IO,
  SAM_ERROR_FORMAT,
  SAM_ERROR_SHAPE,
  SAM_ERROR_UNSUPPORTED,
  SAM_ERROR_NO_MEMORY,
  SAM_ERROR_INVALID_PROMPT,
  SAM_ERROR_ABORTED,
  SAM_ERROR_BAD_STATE,
  SAM_ERROR_LIMIT,
} SamError;

typedef struct _SamModel SamModel;
typedef struct _SamSession SamSession;

/* ---- model ------------------------------------------------------------ */

typedef struct {
  guint32 size;                 /* sizeof (SamModelParams), set by _init */
  guint32 reserved;
} SamModelParams;

void sam_model_params_init (SamModelParams * p);

/* Loads a SAM 2 / SAM 2.1 model (tiny, small, base+, large: detected from
 * tensor shapes). Returns NULL and sets @error on failure. (transfer full) */
SamModel *sam_model_load (const gchar * path, const SamModelParams * p,
    GError ** error);
SamModel *sam_model_ref (SamModel * m);
void sam_model_unref (SamModel * m);

/* "tiny", "small", "base_plus", "large" (transfer none) */
const gchar *sam_model_variant (const SamModel * m);
/* The input size the model was trained for (1024 for official checkpoints). */
gint sam_model_default_input_size (const SamModel * m);
/* A stable 64-bit identity of the weights: FNV-1a over the variant, every
 * tensor's name and shape, and float32 values of each tensor (all of a
 * small one; 1 KiB at its start, middle and end of a large one). Computed
 * on the first call (a few ms) and kept. Session snapshots carry it. */
guint64 sam_model_fingerprint (const SamModel * m);
/* Which layers of the model run quantized (bits, granularity, quantizer,
 * int8 GEMM or simulated) and which stay float, one line per layer; a
 * float model says so in one line. (transfer full) */
gchar *sam_model_quant_summary (const SamModel * m);

/* ---- session ---------------------------------------------------------- */

/* How the memory bank stores memory-encoder features. */
typedef enum {
  SAM_MEMORY_PRECISION_BF16 = 0,        /* as the reference stores them */
  SAM_MEMORY_PRECISION_F32,
  SAM_MEMORY_PRECISION_INT8,    /* per-channel scales: half of bf16 */
} SamMemoryPrecision;

typedef struct {
  guint32 size;                 /* sizeof (SamSessionParams), set by _init */
  gint input_size;              /* 0: the model's default; else multiple of 16 in [256, 1024] */
  gint n_threads;               /* 0: all cores */
  gint max_objects;             /* cap on tracked objects (default 16) */
  gint num_maskmem;             /* memories per object incl. conditioning (default 7) */
  gint max_cond_frames;         /* conditioning frames kept per object (default 16) */
  gint max_obj_ptrs;            /* object pointers in memory attention (default 16) */
  gint64 num_frames;            /* video length if known, else 0 (live). The
                                 * official predictor normalizes object-pointer
                                 * temporal positions by min(num_frames, 16) - 1;
                                 * give it for bit-for-bit parity on short clips. */
  gint memory_precision;        /* SamMemoryPrecision (default BF16) */
  gboolean frame_logits;        /* TRUE (default): each object result carries
                                 * frame-size logits and their box; FALSE:
                                 * the low-res logits only (logits NULL, box
                                 * all -1), for a caller that scales masks
                                 * itself (the element): saves an upsampling
                                 * and width × height floats per object */
} SamSessionParams;

void sam_session_params_init (SamSessionParams * p);

SamSession *sam_session_new (SamModel * m, const SamSessionParams * p,
    GError ** error);
void sam_session_free (SamSession * s);

/* A prompt for one object on the frame that will be processed next, in
 * pixels of the frames given to sam_session_process_frame(). Labels:
 * 1 positive click, 0 negative click; a box is given by has_box and the
 * corners (it is placed before the clicks, as SAM 2 does). */
typedef struct {
  gint n_points;
  const float *points;          /* n_points × [x, y] */
  const gint32 *labels;         /* n_points */
  gboolean has_box;
  float box[4];                 /* x0, y0, x1, y1 */
  gboolean clear_old;           /* replace the object's earlier prompts on that frame */
} SamPrompt;

#define SAM_MAX_POINTS_PER_PROMPT 64

/* Prompts apply to the next frame processed. A new obj_id creates an object. */
gboolean sam_session_add_prompt (SamSession * s, guint32 obj_id,
    const SamPrompt * prompt, GError ** error);
void sam_session_remove_object (SamSession * s, guint32 obj_id);
/* Forget all objects and memory (flush/seek). Also clears a poisoned state. */
void sam_session_reset (SamSession * s);
/* The model input size S the session runs at. */
gint sam_session_input_size (const SamSession * s);
/* Index of the next frame to be processed (0 after new/reset). */
guint64 sam_session_frame_index (const SamSession * s);
/* Tracked objects, and the id of the @i-th (0 <= @i < n_objects) in
 * creation order — e.g. to learn the ids after sam_session_load(). */
gint sam_session_n_objects (const SamSession * s);
guint32 sam_session_object_id (const SamSession * s, gint i);
/* Bytes held by the objects' memory banks (bounded by the caps). */
gsize sam_session_memory_bytes (const SamSession * s);

/* Snapshots: the whole tracking state (objects and their ids, pending
 * prompts, memory banks with frame indices, last results, frame counter,
 * parameters and the model's identity) in a versioned safetensors file, so
 * an application can restart without losing its tracks. Continuing from a
 * loaded snapshot gives bit-identical results to never having stopped.
 * Saving a poisoned session fails (SAM_ERROR_BAD_STATE). */
gboolean sam_session_save (SamSession * s, const gchar * path,
    GError ** error);
/* Loads a snapshot into a new session on @m. The tracking parameters
 * (input_size, num_maskmem, max_cond_frames, max_obj_ptrs, num_frames,
 * memory_precision) are the saved ones; from @p (NULL: defaults) only
 * n_threads and max_objects are used. Refuses, with SAM_ERROR_FORMAT, a
 * file that is not a snapshot, is truncated or corrupt (checksum) or has
 * another format version, and with SAM_ERROR_UNSUPPORTED a snapshot of
 * another model (variant or weights fingerprint). (transfer full) */
SamSession *sam_session_load (SamModel * m, const gchar * path,
    const SamSessionParams * p, GError ** error);
/* The same without a file: the snapshot bytes (g_free them; @len gets
 * their size), and a session loaded from such bytes (@data is not kept). */
guint8 *sam_session_save_to_data (SamSession * s, gsize * len,
    GError ** error);
SamSession *sam_session_load_from_data (SamModel * m, const void *data,
    gsize len, const SamSessionParams * p, GError ** error);

typedef enum {
  SAM_PIXEL_RGB,                /* packed 8-bit R,G,B */
} SamPixelFormat;

typedef struct {
  SamPixelFormat format;
  gint width, height;
  gint stride;                  /* bytes per row */
  const guint8 *data;
} SamImage;

typedef struct {
  guint32 obj_id;
  float object_score;           /* logit: > 0 means present */
  float iou;                    /* predicted IoU of the chosen mask */
  gboolean is_cond_frame;       /* this frame carried prompts for the object */
  gint low_res_size;            /* S/4 */
  const float *low_res_logits;  /* low_res_size² logits (transfer none) */
  gint width, height;           /* frame size */
  const float *logits;          /* width × height logits at frame resolution (transfer none) */
  gint box[4];                  /* x0, y0, x1, y1 (inclusive) of logits > 0; all -1 if empty */
  const float *obj_ptr;         /* 256 floats (transfer none) */
} SamObjectResult;

typedef struct {
  guint64 frame_index;
  gint n_objects;
  const SamObjectResult *objects;       /* (transfer none) */
} SamFrameResult;

/* Runs one frame: image encoder, then per object memory attention, decoder and
 * memory encoder. After a failure the session is poisoned until reset. */
gboolean sam_session_process_frame (SamSession * s, const SamImage * frame,
    SamFrameResult * out, GError ** error);

/* Optional debugging hook: called with every named intermediate tensor
 * (names as in the reference fixtures: "enc0.trunk.0", "heads3.ious", ...).
 * Shapes follow PyTorch order. */
typedef void (*SamTapFunc) (const gchar * name, const float *data,
    const gint64 * shape, gint ndim, gpointer user_data);
void sam_session_set_tap (SamSession * s, SamTapFunc func, gpointer user_data);

/* Per-stage timings of the last processed frame, in milliseconds. */
typedef struct {
  double image_encoder_ms;
  double memory_attention_ms;
  double decoder_ms;
  double memory_encoder_ms;
  double total_ms;
} SamTimings;
void sam_session_get_timings (const SamSession * s, SamTimings * t);

/* ---- process heap ----------------------------------------------------- */

/* Keeps freed heap memory in the process for reuse. A frame allocates and
 * frees tens of MB of temporaries; with glibc's adaptive defaults that
 * memory may go back to the kernel after every frame and be faulted in
 * again on the next one (measured: up to 18,000 page faults and +30 % of
 * the frame time, depending on the heap's layout). This fixes glibc's trim
 * threshold (1 GiB) and mmap threshold (32 MiB) for the whole process, so
 * call it only where that suits the application; the GStreamer element
 * does, unless its tune-allocator property is FALSE. Peak RSS does not
 * grow (the memory is the frame's own), but the process keeps it until
 * sam_release_process_heap(). Returns FALSE where unsupported (not glibc);
 * calling it again does nothing.
 *
 * On Linux it also opts the allocator's heaps (the main heap and the
 * threads' arenas, not other mappings) into transparent huge pages, unless
 * the kernel's THP mode is "never": the frame then walks its weights and
 * temporaries on 2 MiB pages (512 / 1 object: 3.7 % less time per frame
 * on the development VM, up to 10 % when it is loaded), as
 * GLIBC_TUNABLES=glibc.malloc.hugetlb=1 would do at startup. Pages already in use are moved by
 * sam_process_heap_huge_pages_step(). */
gboolean sam_tune_process_allocator (void);
/* After sam_tune_process_allocator(): advises heap memory that appeared
 * since the last call and collapses in-use heap pages onto huge pages
 * (MADV_COLLAPSE, Linux 6.1 or later) for at most budget_us microseconds
 * (< 0: until done). A one-time cost of about 1.3-2.2 ms per MiB of heap;
 * sam_session_process_frame() calls it after each frame with a quarter of
 * that frame's time, so that it is spread over the first few frames.
 * Returns TRUE when nothing is left to collapse (and where there is
 * nothing to do: not tuned, not Linux, THP "never"), FALSE while pages are
 * left or while another thread is in this function. */
gboolean sam_process_heap_huge_pages_step (gint64 budget_us);
/* Hands the heap's free memory back to the kernel (malloc_trim) if the
 * allocator was tuned; sam_session_free() calls it. */
void sam_release_process_heap (void);

G_END_DECLS
#endif /* SAM_SAM_H */
