# sam-orc.orc — element-wise int8 kernels for samseg (ORC 0.4.33).
#
# Generated at build time with orcc when available; sam-orc-dist.[ch] is the
# checked-in output of orcc 0.4.33 (regenerate with `ninja update-orc-dist`
# or the orcc lines in engine/quant/meson.build).
#
# The bit-exact C specification of every function is in requant.c
# (sam_*_ref). ORC numerics to respect there: convfl truncates toward zero,
# float operands and results are flushed to zero when denormal, there is no
# exp, no float accumulator, and at most 100 instructions per function.

# d = sat8 (sat32 ((s·mult + round) >> shift) + zp), round = 2^(shift−1)
.function sam_orc_requant_s32_s8
.dest 1 d1 int8_t
.source 4 s1 int32_t
.longparam 8 p_round
.param 4 p_mult
.param 4 p_shift
.param 4 p_zp
.temp 8 t
.temp 4 l
.temp 2 w
mulslq t, s1, p_mult
addq t, t, p_round
shrsq t, t, p_shift
convsssql l, t
addssl l, l, p_zp
convssslw w, l
convssswb d1, w

.function sam_orc_requant_s32_u8
.dest 1 d1 uint8_t
.source 4 s1 int32_t
.longparam 8 p_round
.param 4 p_mult
.param 4 p_shift
.param 4 p_zp
.temp 8 t
.temp 4 l
.temp 2 w
mulslq t, s1, p_mult
addq t, t, p_round
shrsq t, t, p_shift
convsssql l, t
addssl l, l, p_zp
convssslw w, l
convsuswb d1, w

# d = (float) (s − zp) · scale
.function sam_orc_dequant_s8_f32
.dest 4 d1 float
.source 1 s1 int8_t
.param 4 p_zp
.floatparam 4 p_scale
.temp 2 w
.temp 4 l
convsbw w, s1
convswl l, w
subl l, l, p_zp
convlf l, l
mulf d1, l, p_scale

.function sam_orc_dequant_u8_f32
.dest 4 d1 float
.source 1 s1 uint8_t
.param 4 p_zp
.floatparam 4 p_scale
.temp 2 w
.temp 4 l
convubw w, s1
convuwl l, w
subl l, l, p_zp
convlf l, l
mulf d1, l, p_scale

# d = trunc (clamp (s · inv_scale + (zp + 0.5), 0, 255)): round half up
.function sam_orc_quant_f32_u8
.dest 1 d1 uint8_t
.source 4 s1 float
.floatparam 4 p_inv_scale
.floatparam 4 p_zp_half
.temp 4 t
.temp 2 w
mulf t, s1, p_inv_scale
addf t, t, p_zp_half
maxf t, t, 0.0
minf t, t, 255.0
convfl t, t
convlw w, t
convsuswb d1, w

# as above on [−128, 127]: p_zp_half = zp + 128.5
.function sam_orc_quant_f32_s8
.dest 1 d1 int8_t
.source 4 s1 float
.floatparam 4 p_inv_scale
.floatparam 4 p_zp_half
.temp 4 t
.temp 2 w
mulf t, s1, p_inv_scale
addf t, t, p_zp_half
maxf t, t, 0.0
minf t, t, 255.0
convfl t, t
subl t, t, 128
convlw w, t
convssswb d1, w

# Softmax middle: d = 2^y, y = max ((s − max) · scale, −125), scale =
# attention scale · log2 e. n = trunc (y) ≤ 0, f = y − n ∈ (−1, 0],
# 2^f by a degree-5 polynomial (rel. error < 4e-7), 2^n added to the
# exponent bits with integer ops. Row max and sum stay in C.
.function sam_orc_exp2_sub_f32
.dest 4 d1 float
.source 4 s1 float
.floatparam 4 p_max
.floatparam 4 p_scale
.temp 4 t
.temp 4 n
.temp 4 f
.temp 4 p
subf t, s1, p_max
mulf t, t, p_scale
maxf t, t, -125.0
convfl n, t
convlf f, n
subf f, t, f
mulf p, f, 0.0009381180861964822
addf p, p, 0.009186878800392151
mulf p, p, f
addf p, p, 0.05527813732624054
mulf p, p, f
addf p, p, 0.24017159640789032
mulf p, p, f
addf p, p, 0.6931421756744385
mulf p, p, f
addf p, p, 1.0
shll n, n, 23
addl d1, p, n

# in place (d1 is read first)
.function sam_orc_exp2_sub_f32_ip
.dest 4 d1 float
.floatparam 4 p_max
.floatparam 4 p_scale
.temp 4 t
.temp 4 n
.temp 4 f
.temp 4 p
subf t, d1, p_max
mulf t, t, p_scale
maxf t, t, -125.0
convfl n, t
convlf f, n
subf f, t, f
mulf p, f, 0.0009381180861964822
addf p, p, 0.009186878800392151
mulf p, p, f
addf p, p, 0.05527813732624054
mulf p, p, f
addf p, p, 0.24017159640789032
mulf p, p, f
addf p, p, 0.6931421756744385
mulf p, p, f
addf p, p, 1.0
shll n, n, 23
addl d1, p, n

# d = s · p (softmax normalisation by 1 / Σ, or any scaling)
.function sam_orc_scale_f32
.dest 4 d1 float
.source 4 s1 float
.floatparam 4 p_scale
mulf d1, s1, p_scale

.function sam_orc_scale_f32_ip
.dest 4 d1 float
.floatparam 4 p_scale
mulf d1, d1, p_scale

# AGQ (PTQ4SAM) log2 code of softmax probabilities, from the logits:
# q = trunc (clamp (τ · (c − y) + 0.5, 0, qmax)), y = (s − max) · scale,
# c = log2 Σ + log2 s_a, so that q = round (−τ · log2 (p / s_a)).
# Code qmax = 2^b − 1 stands for 0 (every q ≥ qmax underflows to it).
.function sam_orc_log2q_f32_u8
.dest 1 d1 uint8_t
.source 4 s1 float
.floatparam 4 p_max
.floatparam 4 p_scale
.floatparam 4 p_c
.floatparam 4 p_tau
.floatparam 4 p_qmax
.temp 4 t
.temp 2 w
subf t, s1, p_max
mulf t, t, p_scale
subf t, p_c, t
mulf t, t, p_tau
addf t, t, 0.5
maxf t, t, 0.0
minf t, t, p_qmax
convfl t, t
convlw w, t
convsuswb d1, w

# Integer attention (attention-i8.c): softmax numerators as 15-bit fixed
# point for P·V, d = trunc (2^y · p_one + p_half) (p_one = 32767, p_half =
# 0.5: parameters, as ORC allows no more constants here), the 2^y of
# sam_orc_exp2_sub_f32 (y ≤ 0, so d ≤ 32767). No accumulator for Σ d:
# orcc 0.4.33's accl adds two garbage lanes on 2-element tails (n % 4 ∈
# {2, 3} gave Σ + 65534); the caller sums in C.
.function sam_orc_exp2_p15_f32_s16
.dest 2 d1 int16_t
.source 4 s1 float
.floatparam 4 p_max
.floatparam 4 p_scale
.floatparam 4 p_one
.floatparam 4 p_half
.temp 4 t
.temp 4 n
.temp 4 f
.temp 4 p
subf t, s1, p_max
mulf t, t, p_scale
maxf t, t, -125.0
convfl n, t
convlf f, n
subf f, t, f
mulf p, f, 0.0009381180861964822
addf p, p, 0.009186878800392151
mulf p, p, f
addf p, p, 0.05527813732624054
mulf p, p, f
addf p, p, 0.24017159640789032
mulf p, p, f
addf p, p, 0.6931421756744385
mulf p, p, f
addf p, p, 1.0
shll n, n, 23
addl p, p, n
mulf p, p, p_one
addf p, p, p_half
convfl n, p
convlw d1, n

# Overlay blending (the element's masks): d = (d·(256 − a) + c·a + 128)
# >> 8, a ∈ [0, 256] per pixel, the colour c a parameter (a plane: luma,
# I420's chroma). Every term fits 16 unsigned bits: d·(256 − a) + c·a ≤
# 255·256, plus 128. p_full is 256 (a parameter: see the limit on
# constants above). Integer only: the same bytes as the C reference.
.function sam_orc_blend_u8
.dest 1 d1 uint8_t
.source 2 a1 uint16_t
.param 2 p_c
.param 2 p_full
.temp 2 w
.temp 2 t
convubw w, d1
subw t, p_full, a1
mullw w, w, t
mullw t, a1, p_c
addw w, w, t
addw w, w, 128
shruw w, w, 8
convwb d1, w

# The same with a colour per byte (interleaved RGB / RGBx rows: the
# alpha and colour spread per byte by the caller; a = 0 keeps a byte).
.function sam_orc_blend_u8_colors
.dest 1 d1 uint8_t
.source 2 a1 uint16_t
.source 1 c1 uint8_t
.param 2 p_full
.temp 2 w
.temp 2 t
.temp 2 c
convubw w, d1
subw t, p_full, a1
mullw w, w, t
convubw c, c1
mullw t, a1, c
addw w, w, t
addw w, w, 128
shruw w, w, 8
convwb d1, w

# Model input from 8-bit RGB: d = (s / 255 − m) / sd per byte, the
# channel's mean m and std sd given per element (pattern rows of the
# caller). IEEE division and subtraction as in C, so the same floats
# unless a value is denormal (ORC flushes those): with SAM's ImageNet
# means the smallest nonzero |s / 255 − m| is 1.1e-3.
.function sam_orc_normalize_u8_f32
.dest 4 d1 float
.source 1 s1 uint8_t
.source 4 m1 float
.source 4 r1 float
.temp 2 w
.temp 4 l
.temp 4 f
convubw w, s1
convuwl l, w
convlf f, l
divf f, f, 255.0
subf f, f, m1
divf d1, f, r1

# 4:2:0 YUV → RGB, one row (io/yuv-rgb.c: GStreamer 1.22 videoconvert's
# I420 → RGB fast path, which is itself ORC): each sample recentred to a
# signed byte and widened by splatting, (s << 8) | s; the high 16 bits of
# its product with each 8.8 coefficient; sums in 16 bits (|·| < 700);
# saturated to a signed byte and recentred. loadupdb gives pixel x the
# chroma sample x >> 1. R, G and B go to three planes, which the caller
# interleaves (ORC has no 3-byte type). Integer only: the same bytes as
# the C reference.
.function sam_orc_yuv_to_rgb_planes
.dest 1 r1 uint8_t
.dest 1 g1 uint8_t
.dest 1 b1 uint8_t
.source 1 y1 uint8_t
.source 1 u1 uint8_t
.source 1 v1 uint8_t
.param 2 p_y
.param 2 p_rv
.param 2 p_bu
.param 2 p_gu
.param 2 p_gv
.temp 1 t
.temp 2 wy
.temp 2 wu
.temp 2 wv
.temp 2 w
.temp 2 c
xorb t, y1, 128
splatbw wy, t
mulhsw wy, wy, p_y
loadupdb t, u1
xorb t, t, 128
splatbw wu, t
loadupdb t, v1
xorb t, t, 128
splatbw wv, t
mulhsw w, wv, p_rv
addw w, w, wy
convssswb t, w
xorb r1, t, 128
mulhsw w, wu, p_gu
addw w, w, wy
mulhsw c, wv, p_gv
addw w, w, c
convssswb t, w
xorb g1, t, 128
mulhsw w, wu, p_bu
addw w, w, wy
convssswb t, w
xorb b1, t, 128

