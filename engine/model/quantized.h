/* quantized.h — one dispatch point for every Linear (and the quantizable
 * attentions) of the model, float or quantized, plus calibration observers.
 *
 * Modules call sam_model_linear (m, pool, name, x, M, ldx, y, ldy) with the
 * layer's name (the weight's name without ".weight"); the layer is a float
 * Linear (sam_linear on the checkpoint's weights: bit-identical to calling
 * it directly) unless the file carries quantization side tensors for it:
 *
 *   <L>.weight          I8  (same shape as the float weight) integer weights,
 *                           symmetric per output channel, |q| <= 2^(wb-1) - 1
 *   <L>.weight#scale    F32 [N]  per output channel step
 *   <L>.input#qparams   F32 [3]  (scale, zero, bits): per-tensor asymmetric
 *                                activation quantizer (u8 codes)
 *   <L>.input#scale     F32 [K]  \ per input channel (CAG groups expanded);
 *   <L>.input#zero      F32 [K]  / the weights are stored pre-multiplied by
 *                                the channel scales (W'[n,c] = W[n,c] s_c)
 *   <L>.input#hluq      F32 [5]  (m, R, r, g, bits) HLUQ (simulated)
 *   <A>#agq             F32 [3]  (s, tau, bits) AGQ on the softmax output
 *   <A>#lnq             F32 [3]  (s, alpha, bits) LNQ on the softmax output
 *   <A>#drq             F32 [2]  (split, bits) DRQ (disjoint regions)
 *   <A>#qkv             F32 [7]  (s_q, z_q, s_k, z_k, s_v, z_v, bits) per-
 *                                tensor quantizers on q, k, v (u8 codes)
 *   <A>#vlate           F32 [1]  = 1: the memory cross-attention was
 *                                calibrated with P·V in the memory space
 *                                (v = memory, v_proj after the attention;
 *                                sam_model_attention_v_late)
 *   <A>#p8              F32 [1]  = 1: the integer attention carries P
 *                                with 8 bits, not 15, into P·V (the p8 of
 *                                kernels/attention-i8.h: one byte plane)
 *
 * and __metadata__ "samseg.quant" (JSON: per layer quantizer, bits,
 * granularity, method; the modules kept float). <A> is an attention module
 * name (a Hiera block's "....blocks.N.attn", a memory-attention or decoder
 * attention prefix).
 *
 * Execution of a quantized Linear: activation codes (per tensor or per
 * channel) → sam_k_gemm_i8 (int32 accumulation) → float epilogue
 * acc · x_scale · w_scale[n] + bias[n]. SAMSEG_QUANT_SIM=1 (or
 * sam_model_set_quant_sim) runs the same quantizers as fake quantization in
 * float instead (x̂ = s (q − z), Ŵ = w_scale q_w): the reference the int8
 * path is tested against, and the only path for the non-uniform
 * quantizers (HLUQ), whose codes are not linear integers. Quantized
 * attention runs on the integer kernel (kernels/attention-i8.h): u8 codes
 * of q, k, v, integer QKᵀ, the softmax in float per row, P quantized by the
 * layer's quantizer (AGQ, LNQ, DRQ, or 15-bit softmax without one) and an
 * integer P·V; the simulation computes the same P in float.
 */
#ifndef SAM_MODEL_QUANTIZED_H
#define SAM_MODEL_QUANTIZED_H

#include "model/model.h"
#include "core/threadpool.h"

/* Calibration observers: x is the layer input before quantization, y its
 * output. Called from the thread that runs the module. */
typedef void (*SamLinearObserver) (const char *name, const float *x,
    int64_t M, int K, int64_t ldx, const float *y, int N, int64_t ldy,
    void *user_data);
typedef void (*SamAttentionObserver) (const char *name, const float *q,
    int64_t ldq, const float *k, int64_t ldk, const float *v, int64_t ldv,
    int64_t Nq, int64_t Nk, int H, int D, int Dv, void *user_data);

void sam_model_set_observers (SamModel * m, SamLinearObserver lin,
    SamAttentionObserver att, void *user_data);

/* Forces fake quantization (simulation) instead of the int8 GEMM. */
void sam_model_set_quant_sim (SamModel * m, gboolean sim);

/* y[M, N] = Linear @name (x[M, K]). */
void sam_model_linear (const SamModel * m, SamPool * pool, const char *name,
    const float *x, int64_t M, int64_t ldx, float *y, int64_t ldy);
/* The Linear's output for an all-zero input row ([N] floats, owned by
 * the model), made on the first call and kept: what every row of zero
 * padding gives (Hiera's padded windows). Not while observers are set or
 * in simulation (sam_model_set_quant_sim). */
const float *sam_model_linear_zero_row (const SamModel * m,
    const char *name);
/* sam_model_linear, the name printf-formatted. */
void sam_model_linearf (const SamModel * m, SamPool * pool, const float *x,
    int64_t M, int64_t ldx, float *y, int64_t ldy, const char *fmt, ...)
    G_GNUC_PRINTF (8, 9);

/* A row-wise step on a Linear's output rows: rows [row0, row0 + rows) of
 * y (row stride ldy), in place. */
typedef void (*SamModelRowsFunc) (void *user_data, float *y, int64_t ldy,
    int64_t row0, int64_t rows);

/* sam_model_linear, then fn on every output row exactly once, in groups
 * of rows on any thread: with the int8 GEMM on each row tile as it is
 * finished (still in cache: one pass over y instead of two, one pool job
 * instead of two), else as a pass over the pool after the Linear (and
 * after a calibration observer has seen y). A row-wise fn gives the same
 * bits either way. */
void sam_model_linear_rows (const SamModel * m, SamPool * pool,
    const char *name, const float *x, int64_t M, int64_t ldx, float *y,
    int64_t ldy, SamModelRowsFunc fn, void *user_data);

/* The activation between an MLP's two Linears: with the int8 GEMM it runs
 * on each row tile as it is finished (in cache), else as a pass after the
 * first Linear. Same bits either way (element-wise). */
typedef enum {
  SAM_MODEL_ACT_NONE,
  SAM_MODEL_ACT_GELU,           /* exact (sam_gelu); after an integer
                                 * layer sam_gelu_q, ahead of the next
                                 * layer's 8-bit codes */
  SAM_MODEL_ACT_RELU,
} SamModelAct;

/* y = Linear @name2 (act (Linear @name1 (x))). h [M, N1] is scratch for
 * the hidden rows; when both layers are int8 they go from one to the
 * other a row tile at a time (sam_k_mlp_i8) and h is not touched. */
void sam_model_mlp (const SamModel * m, SamPool * pool, const char *name1,
    const char *name2, SamModelAct act, const float *x, int64_t M,
    int64_t ldx, float *h, float *y, int64_t ldy);

/* sam_attention () of attention module @name, quantized if the file says. */
void sam_model_attention (const SamModel * m, SamPool * pool,
    const char *name, const float *q, int64_t ldq, const float *k,
    int64_t ldk, const float *v, int64_t ldv, float *out, int64_t ldo,
    int64_t Nq, int64_t Nk, int H, int D, int Dv);

/* Integer keys given piece by piece (memory attention's long keys): when
 * sam_model_attention_int_k () is TRUE for attention @name, the caller
 * may turn its float keys into the layer's integer codes a piece of rows
 * at a time with sam_model_attention_quantize_k () (into @codes, rows
 * [0, Nk) × H·D, e.g. from sam_model_attention_k_codes ()) and then run
 * sam_model_attention_k8 (): the same codes and so the same bits as
 * sam_model_attention () on the whole float keys, without holding them.
 * FALSE for a float, simulated or observed attention. */
gboolean sam_model_attention_int_k (const SamModel * m, const char *name);
uint8_t *sam_model_attention_k_codes (int64_t Nk, int cq);
void sam_model_attention_quantize_k (const SamModel * m, SamPool * pool,
    const char *name, const float *k, int64_t ldk, int64_t rows, int cq,
    uint8_t * codes);
/* The same quantizer as a step and zero point, for a caller that
 * quantizes key rows itself: sam_quant_f32_u8 (codes, k, 1.f / *step,
 * *zero, cq) on each row gives the codes of
 * sam_model_attention_quantize_k. FALSE (nothing set) where that
 * quantizer is not 8-bit, or sam_model_attention_int_k () is FALSE. */
gboolean sam_model_attention_k_quantizer (const SamModel * m,
    const char *name, float *step, int32_t * zero);
void sam_model_attention_k8 (const SamModel * m, SamPool * pool,
    const char *name, const float *q, int64_t ldq, const uint8_t * k8,
    const float *v, int64_t ldv, float *out, int64_t ldo, int64_t Nq,
    int64_t Nk, int H, int D, int Dv);

/* The same for all three inputs (Hiera's global attention, whose q, k and
 * v come out of one qkv Linear a row group at a time): @which 0, 1, 2 for
 * q, k, v turns rows of floats into that quantizer's codes (row-wise, so
 * any grouping of rows gives the same codes), and
 * sam_model_attention_codes () runs the integer attention on q8 [Nq, H·D],
 * k8 [Nk, H·D], v8 [Nk, H·Dv] (dense rows): the same bits as
 * sam_model_attention () on the floats. Only while
 * sam_model_attention_int_k () is TRUE. */
void sam_model_attention_quantize (const SamModel * m, SamPool * pool,
    const char *name, int which, const float *x, int64_t ldx, int64_t rows,
    int cols, uint8_t * codes);
void sam_model_attention_codes (const SamModel * m, SamPool * pool,
    const char *name, const uint8_t * q8, const uint8_t * k8,
    const uint8_t * v8, float *out, int64_t ldo, int64_t Nq, int64_t Nk,
    int H, int D, int Dv);

/* Loader hooks (model.c). */
gboolean sam_quant_tensor_ok (const SamModel * m, const SamStTensor * t,
    const char *name);
gboolean sam_quant_state_init (SamModel * m, GError ** error);
void sam_quant_state_free (SamModel * m);

/* TRUE when the Linear or attention module @name runs as plain float
 * (sam_linear / sam_attention on the checkpoint's weights) and no
 * calibration observer is installed: callers may then evaluate it in an
 * algebraically equivalent order (e.g. move a Linear past an attention's
 * weighted sum). FALSE for a quantized layer or while observers are set,
 * where the layer must see exactly its documented inputs. */
gboolean sam_model_layer_plain (const SamModel * m, const char *name);

/* TRUE when the Linear @name runs the integer GEMM (sam_k_linear_i8 on
 * prepacked weights) and no calibration observer is installed: a call then
 * costs no weight packing, so it may be made per small group of rows (and
 * from pool workers with a NULL pool), and each output row depends on its
 * input row only. */
gboolean sam_model_layer_int8 (const SamModel * m, const char *name);

/* TRUE while calibration observers are installed (sam_model_set_observers):
 * every Linear and attention must then see its literal inputs, rows that
 * are later dropped included. */
gboolean sam_model_observed (const SamModel * m);

/* TRUE when memory cross-attention @name (its prefix) runs P·V in the
 * memory space, v_proj after the attention (exact algebra: softmax rows
 * sum to 1): a plain float layer pair, a calibration run (observers set,
 * so the quantizers are calibrated in that order), or a quantized
 * attention whose file carries <name>#vlate. Files calibrated in the other
 * order keep it. */
gboolean sam_model_attention_v_late (const SamModel * m, const char *name);

/* Number of quantized linears + attentions (0: a float model). */
int sam_model_n_quantized (const SamModel * m);

/* Bytes of weights as the engine holds them (float views, int8 + scales,
 * packed GEMM copies). */
int64_t sam_model_weight_bytes (const SamModel * m);

#endif
