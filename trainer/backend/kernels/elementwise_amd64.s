//go:build amd64 && !purego

#include "textflag.h"

// Element-wise kernels; see elementwise.go for what each computes and
// elementwise_amd64.go for their preconditions. They round every product
// (no FMA) where the Go reference does, so that both give the same bits.

// maskOnes(tmp, k): k = (1<<CX)-1, the first CX (0..16) lanes.
#define maskOnes(tmp, k) MOVL $1, tmp; SHLL CX, tmp; DECL tmp; KMOVW tmp, k

// Dword masks for AVX2 tails: the 8 dwords at maskTab+32-4k are k ones
// (-1) then zeros, for k in 0..8.
DATA maskTab<>+0(SB)/8, $-1
DATA maskTab<>+8(SB)/8, $-1
DATA maskTab<>+16(SB)/8, $-1
DATA maskTab<>+24(SB)/8, $-1
DATA maskTab<>+32(SB)/8, $0
DATA maskTab<>+40(SB)/8, $0
DATA maskTab<>+48(SB)/8, $0
DATA maskTab<>+56(SB)/8, $0
GLOBL maskTab<>(SB), RODATA|NOPTR, $64

// ---------------------------------------------------------------- ReLU

// reluAVX512: max(0, x) returns x for NaN and for ±0; adding +0 turns -0
// into +0 as Go's max does.
#define relu512(r) VMAXPS r, Z16, r; VADDPS Z16, r, r

// func reluAVX512(x, y *float32, n int)
TEXT ·reluAVX512(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ n+16(FP), CX
	VPXORD Z16, Z16, Z16
	CMPQ CX, $64
	JLT  one

four:
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VMOVUPS 128(SI), Z2
	VMOVUPS 192(SI), Z3
	relu512(Z0)
	relu512(Z1)
	relu512(Z2)
	relu512(Z3)
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	ADDQ    $256, SI
	ADDQ    $256, DI
	SUBQ    $64, CX
	CMPQ    CX, $64
	JGE     four

one:
	CMPQ    CX, $16
	JLT     tail
	VMOVUPS (SI), Z0
	relu512(Z0)
	VMOVUPS Z0, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     one

tail:
	TESTQ     CX, CX
	JZ        done
	maskOnes(AX, K1)
	VMOVUPS.Z (SI), K1, Z0
	relu512(Z0)
	VMOVUPS   Z0, K1, (DI)

done:
	VZEROUPPER
	RET

#define relu2(r) VMAXPS r, Y8, r; VADDPS Y8, r, r

// func reluAVX2(x, y *float32, n int)
TEXT ·reluAVX2(SB), NOSPLIT, $0-24
	MOVQ   x+0(FP), SI
	MOVQ   y+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y8, Y8, Y8
	CMPQ   CX, $32
	JLT    one

four:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	relu2(Y0)
	relu2(Y1)
	relu2(Y2)
	relu2(Y3)
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ    $128, SI
	ADDQ    $128, DI
	SUBQ    $32, CX
	CMPQ    CX, $32
	JGE     four

one:
	TESTQ   CX, CX
	JZ      done
	VMOVUPS (SI), Y0
	relu2(Y0)
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     one

done:
	VZEROUPPER
	RET

// func reluBackwardAVX512(y, dy, dx *float32, n int)
TEXT ·reluBackwardAVX512(SB), NOSPLIT, $0-32
	MOVQ   y+0(FP), SI
	MOVQ   dy+8(FP), DX
	MOVQ   dx+16(FP), DI
	MOVQ   n+24(FP), CX
	VPXORD Z16, Z16, Z16
	CMPQ   CX, $32
	JLT    one

two:
	// 0 < y, ordered: false for NaN. Masking dy in a register: masked
	// loads with scattered masks are slow on AMD.
	VCMPPS    $0x11, (SI), Z16, K1
	VCMPPS    $0x11, 64(SI), Z16, K2
	VMOVUPS   (DX), Z0
	VMOVUPS   64(DX), Z1
	VMOVAPS.Z Z0, K1, Z0
	VMOVAPS.Z Z1, K2, Z1
	VMOVUPS   Z0, (DI)
	VMOVUPS   Z1, 64(DI)
	ADDQ      $128, SI
	ADDQ      $128, DX
	ADDQ      $128, DI
	SUBQ      $32, CX
	CMPQ      CX, $32
	JGE       two

one:
	CMPQ      CX, $16
	JLT       tail
	VCMPPS    $0x11, (SI), Z16, K1
	VMOVUPS   (DX), Z0
	VMOVAPS.Z Z0, K1, Z0
	VMOVUPS   Z0, (DI)
	ADDQ      $64, SI
	ADDQ      $64, DX
	ADDQ      $64, DI
	SUBQ      $16, CX

tail:
	TESTQ     CX, CX
	JZ        done
	maskOnes(AX, K3)
	VMOVUPS.Z (SI), K3, Z1
	VCMPPS    $0x11, Z1, Z16, K1
	VMOVUPS.Z (DX), K3, Z0
	VMOVAPS.Z Z0, K1, Z0
	VMOVUPS   Z0, K3, (DI)

done:
	VZEROUPPER
	RET

// func reluBackwardAVX2(y, dy, dx *float32, n int)
TEXT ·reluBackwardAVX2(SB), NOSPLIT, $0-32
	MOVQ   y+0(FP), SI
	MOVQ   dy+8(FP), DX
	MOVQ   dx+16(FP), DI
	MOVQ   n+24(FP), CX
	VXORPS Y8, Y8, Y8
	CMPQ   CX, $16
	JLT    one

two:
	VCMPPS  $0x11, (SI), Y8, Y0
	VCMPPS  $0x11, 32(SI), Y8, Y1
	VANDPS  (DX), Y0, Y0
	VANDPS  32(DX), Y1, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, DI
	SUBQ    $16, CX
	CMPQ    CX, $16
	JGE     two

one:
	TESTQ   CX, CX
	JZ      done
	VCMPPS  $0x11, (SI), Y8, Y0
	VANDPS  (DX), Y0, Y0
	VMOVUPS Y0, (DI)

done:
	VZEROUPPER
	RET

// ------------------------------------------------------- Dropout backward

// func dropoutBackwardAVX512(dy, mask, dx *float32, n int)
TEXT ·dropoutBackwardAVX512(SB), NOSPLIT, $0-32
	MOVQ dy+0(FP), SI
	MOVQ mask+8(FP), DX
	MOVQ dx+16(FP), DI
	MOVQ n+24(FP), CX
	CMPQ CX, $32
	JLT  one

two:
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VMULPS  (DX), Z0, Z0
	VMULPS  64(DX), Z1, Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ    $128, SI
	ADDQ    $128, DX
	ADDQ    $128, DI
	SUBQ    $32, CX
	CMPQ    CX, $32
	JGE     two

one:
	CMPQ    CX, $16
	JLT     tail
	VMOVUPS (SI), Z0
	VMULPS  (DX), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, DI
	SUBQ    $16, CX

tail:
	TESTQ     CX, CX
	JZ        done
	maskOnes(AX, K1)
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z (DX), K1, Z1
	VMULPS    Z1, Z0, Z0
	VMOVUPS   Z0, K1, (DI)

done:
	VZEROUPPER
	RET

// func dropoutBackwardAVX2(dy, mask, dx *float32, n int)
TEXT ·dropoutBackwardAVX2(SB), NOSPLIT, $0-32
	MOVQ dy+0(FP), SI
	MOVQ mask+8(FP), DX
	MOVQ dx+16(FP), DI
	MOVQ n+24(FP), CX
	CMPQ CX, $16
	JLT  one

two:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMULPS  (DX), Y0, Y0
	VMULPS  32(DX), Y1, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, DI
	SUBQ    $16, CX
	CMPQ    CX, $16
	JGE     two

one:
	TESTQ   CX, CX
	JZ      done
	VMOVUPS (SI), Y0
	VMULPS  (DX), Y0, Y0
	VMOVUPS Y0, (DI)

done:
	VZEROUPPER
	RET

// ------------------------------------------------------------------ AdamW

// One AdamW step on registers g, m, v, w (t is scratch; g is clobbered),
// with the constants of adamConsts in C+0..C+7 (b1, c1, b2, c2, eps,
// stepSize, sqrtBc2, decay): the operations and their order of adamWConsts.
#define adamW(g, m, v, w, t, b1, c1, b2, c2, eps, ss, sq, dc) \
	VMULPS m, b1, m; \
	VMULPS g, c1, t; \
	VADDPS t, m, m; \
	VMULPS v, b2, v; \
	VMULPS g, c2, t; \
	VMULPS g, t, t; \
	VADDPS t, v, v; \
	VSQRTPS v, t; \
	VDIVPS sq, t, t; \
	VADDPS eps, t, t; \
	VMULPS m, ss, g; \
	VDIVPS t, g, g; \
	VMULPS w, dc, w; \
	VSUBPS g, w, w

#define adamW512(g, m, v, w, t) adamW(g, m, v, w, t, Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)
#define adamW2(g, m, v, w, t) adamW(g, m, v, w, t, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15)

// func adamWAVX512(w, grad, m, v *float32, n int, c *adamConsts)
TEXT ·adamWAVX512(SB), NOSPLIT, $0-48
	MOVQ         w+0(FP), DI
	MOVQ         grad+8(FP), SI
	MOVQ         m+16(FP), R8
	MOVQ         v+24(FP), R9
	MOVQ         n+32(FP), CX
	MOVQ         c+40(FP), AX
	VBROADCASTSS 0(AX), Z16
	VBROADCASTSS 4(AX), Z17
	VBROADCASTSS 8(AX), Z18
	VBROADCASTSS 12(AX), Z19
	VBROADCASTSS 16(AX), Z20
	VBROADCASTSS 20(AX), Z21
	VBROADCASTSS 24(AX), Z22
	VBROADCASTSS 28(AX), Z23
	XORQ         DX, DX
	CMPQ         CX, $32
	JLT          one

two:
	VMOVUPS (SI)(DX*1), Z0
	VMOVUPS (R8)(DX*1), Z1
	VMOVUPS (R9)(DX*1), Z2
	VMOVUPS (DI)(DX*1), Z3
	VMOVUPS 64(SI)(DX*1), Z5
	VMOVUPS 64(R8)(DX*1), Z6
	VMOVUPS 64(R9)(DX*1), Z7
	VMOVUPS 64(DI)(DX*1), Z8
	adamW512(Z0, Z1, Z2, Z3, Z4)
	adamW512(Z5, Z6, Z7, Z8, Z9)
	VMOVUPS Z1, (R8)(DX*1)
	VMOVUPS Z2, (R9)(DX*1)
	VMOVUPS Z3, (DI)(DX*1)
	VMOVUPS Z6, 64(R8)(DX*1)
	VMOVUPS Z7, 64(R9)(DX*1)
	VMOVUPS Z8, 64(DI)(DX*1)
	ADDQ    $128, DX
	SUBQ    $32, CX
	CMPQ    CX, $32
	JGE     two

one:
	CMPQ    CX, $16
	JLT     tail
	VMOVUPS (SI)(DX*1), Z0
	VMOVUPS (R8)(DX*1), Z1
	VMOVUPS (R9)(DX*1), Z2
	VMOVUPS (DI)(DX*1), Z3
	adamW512(Z0, Z1, Z2, Z3, Z4)
	VMOVUPS Z1, (R8)(DX*1)
	VMOVUPS Z2, (R9)(DX*1)
	VMOVUPS Z3, (DI)(DX*1)
	ADDQ    $64, DX
	SUBQ    $16, CX

tail:
	TESTQ     CX, CX
	JZ        done
	maskOnes(AX, K1)
	VMOVUPS.Z (SI)(DX*1), K1, Z0
	VMOVUPS.Z (R8)(DX*1), K1, Z1
	VMOVUPS.Z (R9)(DX*1), K1, Z2
	VMOVUPS.Z (DI)(DX*1), K1, Z3
	adamW512(Z0, Z1, Z2, Z3, Z4)
	VMOVUPS   Z1, K1, (R8)(DX*1)
	VMOVUPS   Z2, K1, (R9)(DX*1)
	VMOVUPS   Z3, K1, (DI)(DX*1)

done:
	VZEROUPPER
	RET

// func adamWAVX2(w, grad, m, v *float32, n int, c *adamConsts)
TEXT ·adamWAVX2(SB), NOSPLIT, $0-48
	MOVQ         w+0(FP), DI
	MOVQ         grad+8(FP), SI
	MOVQ         m+16(FP), R8
	MOVQ         v+24(FP), R9
	MOVQ         n+32(FP), CX
	MOVQ         c+40(FP), AX
	VBROADCASTSS 0(AX), Y8
	VBROADCASTSS 4(AX), Y9
	VBROADCASTSS 8(AX), Y10
	VBROADCASTSS 12(AX), Y11
	VBROADCASTSS 16(AX), Y12
	VBROADCASTSS 20(AX), Y13
	VBROADCASTSS 24(AX), Y14
	VBROADCASTSS 28(AX), Y15
	XORQ         DX, DX

loop:
	TESTQ   CX, CX
	JZ      done
	VMOVUPS (SI)(DX*1), Y0
	VMOVUPS (R8)(DX*1), Y1
	VMOVUPS (R9)(DX*1), Y2
	VMOVUPS (DI)(DX*1), Y3
	adamW2(Y0, Y1, Y2, Y3, Y4)
	VMOVUPS Y1, (R8)(DX*1)
	VMOVUPS Y2, (R9)(DX*1)
	VMOVUPS Y3, (DI)(DX*1)
	ADDQ    $32, DX
	SUBQ    $8, CX
	JMP     loop

done:
	VZEROUPPER
	RET

// ---------------------------------------------------------------- Dropout

// hash512(z, h, t): h = the top 24 bits of SplitMix64's finaliser of each
// lane of z (its last xor-shift leaves them alone), with the multipliers in
// Z19 and Z20.
#define hash512(z, h, t) \
	VPSRLQ  $30, z, t; \
	VPXORQ  z, t, h; \
	VPMULLQ Z19, h, h; \
	VPSRLQ  $27, h, t; \
	VPXORQ  t, h, h; \
	VPMULLQ Z20, h, h; \
	VPSRLQ  $40, h, h

// func dropoutAVX512(x, y, mask *float32, n int, lanes *[16]uint64, step, thr uint64, keep float32)
TEXT ·dropoutAVX512(SB), NOSPLIT, $0-60
	MOVQ         x+0(FP), SI
	MOVQ         y+8(FP), DI
	MOVQ         mask+16(FP), R8
	MOVQ         n+24(FP), CX
	MOVQ         lanes+32(FP), AX
	VMOVDQU64    (AX), Z16
	VMOVDQU64    64(AX), Z17
	VPBROADCASTQ step+40(FP), Z18
	MOVQ         $0xBF58476D1CE4E5B9, AX
	VPBROADCASTQ AX, Z19
	MOVQ         $0x94D049BB133111EB, AX
	VPBROADCASTQ AX, Z20
	VPBROADCASTQ thr+48(FP), Z21
	VBROADCASTSS keep+56(FP), Z22
	XORQ         DX, DX

loop:
	CMPQ      CX, $16
	JLT       tail
	hash512(Z16, Z0, Z1)
	hash512(Z17, Z2, Z3)
	VPCMPUQ   $5, Z21, Z0, K1 // kept: bits >= thr
	VPCMPUQ   $5, Z21, Z2, K2
	KUNPCKBW  K1, K2, K3
	VMOVAPS.Z Z22, K3, Z4
	VMULPS    (SI)(DX*1), Z4, Z5
	VMOVUPS   Z4, (R8)(DX*1)
	VMOVUPS   Z5, (DI)(DX*1)
	VPADDQ    Z18, Z16, Z16
	VPADDQ    Z18, Z17, Z17
	ADDQ      $64, DX
	SUBQ      $16, CX
	JMP       loop

tail:
	TESTQ     CX, CX
	JZ        done
	hash512(Z16, Z0, Z1)
	hash512(Z17, Z2, Z3)
	VPCMPUQ   $5, Z21, Z0, K1
	VPCMPUQ   $5, Z21, Z2, K2
	KUNPCKBW  K1, K2, K3
	maskOnes(AX, K4)
	VMOVAPS.Z Z22, K3, Z4
	VMOVUPS.Z (SI)(DX*1), K4, Z5
	VMULPS    Z5, Z4, Z5
	VMOVUPS   Z4, K4, (R8)(DX*1)
	VMOVUPS   Z5, K4, (DI)(DX*1)

done:
	VZEROUPPER
	RET

// mul64(z, lo, hi, t, u): z *= C lane-wise mod 2^64, with C in lo (the
// low dword is used) and C>>32 in hi.
#define mul64(z, lo, hi, t, u) \
	VPSRLQ   $32, z, t; \
	VPMULUDQ lo, t, t; \
	VPMULUDQ hi, z, u; \
	VPADDQ   u, t, t; \
	VPSLLQ   $32, t, t; \
	VPMULUDQ lo, z, z; \
	VPADDQ   t, z, z

#define hash2(z, h, t, u) \
	VPSRLQ $30, z, h; \
	VPXOR  z, h, h; \
	mul64(h, Y11, Y12, t, u); \
	VPSRLQ $27, h, t; \
	VPXOR  t, h, h; \
	mul64(h, Y13, Y14, t, u); \
	VPSRLQ $40, h, h

// func dropoutAVX2(x, y, mask *float32, n int, lanes *[8]uint64, step, thr uint64, keep float32)
TEXT ·dropoutAVX2(SB), NOSPLIT, $0-60
	MOVQ         x+0(FP), SI
	MOVQ         y+8(FP), DI
	MOVQ         mask+16(FP), R8
	MOVQ         n+24(FP), CX
	MOVQ         lanes+32(FP), AX
	VMOVDQU      (AX), Y8
	VMOVDQU      32(AX), Y9
	VPBROADCASTQ step+40(FP), Y10
	MOVQ         $0xBF58476D1CE4E5B9, AX
	VMOVQ        AX, X11
	VPBROADCASTQ X11, Y11
	VPSRLQ       $32, Y11, Y12
	MOVQ         $0x94D049BB133111EB, AX
	VMOVQ        AX, X13
	VPBROADCASTQ X13, Y13
	VPSRLQ       $32, Y13, Y14
	VPBROADCASTD thr+48(FP), Y15
	VBROADCASTSS keep+56(FP), Y7
	XORQ         DX, DX

loop:
	TESTQ    CX, CX
	JZ       done
	hash2(Y8, Y0, Y4, Y5)
	hash2(Y9, Y1, Y4, Y5)
	// The low dwords of (0,1,4,5) and (2,3,6,7): elements 0..7 in order.
	VSHUFPS  $0x88, Y1, Y0, Y2
	VPCMPGTD Y2, Y15, Y3      // dropped: thr > bits
	VANDNPS  Y7, Y3, Y3       // mask = keep where not dropped
	VMULPS   (SI)(DX*1), Y3, Y2
	VMOVUPS  Y3, (R8)(DX*1)
	VMOVUPS  Y2, (DI)(DX*1)
	VPADDQ   Y10, Y8, Y8
	VPADDQ   Y10, Y9, Y9
	ADDQ     $32, DX
	SUBQ     $8, CX
	JMP      loop

done:
	VZEROUPPER
	RET

// ---------------------------------------------------------------- MaxPool

// Size-2 pooling. The AVX-512 kernel loads 32 values of each of a window
// row pair, splits them into even and odd columns with VPERMI2PS and keeps
// the first maximum of the four candidates, 16 outputs at a time.

// Even and odd dword indices 0..31, for VPERMI2PS and as column offsets.
DATA pool2Even<>+0(SB)/4, $0
DATA pool2Even<>+4(SB)/4, $2
DATA pool2Even<>+8(SB)/4, $4
DATA pool2Even<>+12(SB)/4, $6
DATA pool2Even<>+16(SB)/4, $8
DATA pool2Even<>+20(SB)/4, $10
DATA pool2Even<>+24(SB)/4, $12
DATA pool2Even<>+28(SB)/4, $14
DATA pool2Even<>+32(SB)/4, $16
DATA pool2Even<>+36(SB)/4, $18
DATA pool2Even<>+40(SB)/4, $20
DATA pool2Even<>+44(SB)/4, $22
DATA pool2Even<>+48(SB)/4, $24
DATA pool2Even<>+52(SB)/4, $26
DATA pool2Even<>+56(SB)/4, $28
DATA pool2Even<>+60(SB)/4, $30
GLOBL pool2Even<>(SB), RODATA|NOPTR, $64

// The even column offsets of outputs in the order that VPERMQ by
// pool2Perm then VUNPCK[LH]PS put back in line (see the backward kernel).
DATA pool2Back<>+0(SB)/4, $0
DATA pool2Back<>+4(SB)/4, $2
DATA pool2Back<>+8(SB)/4, $16
DATA pool2Back<>+12(SB)/4, $18
DATA pool2Back<>+16(SB)/4, $4
DATA pool2Back<>+20(SB)/4, $6
DATA pool2Back<>+24(SB)/4, $20
DATA pool2Back<>+28(SB)/4, $22
DATA pool2Back<>+32(SB)/4, $8
DATA pool2Back<>+36(SB)/4, $10
DATA pool2Back<>+40(SB)/4, $24
DATA pool2Back<>+44(SB)/4, $26
DATA pool2Back<>+48(SB)/4, $12
DATA pool2Back<>+52(SB)/4, $14
DATA pool2Back<>+56(SB)/4, $28
DATA pool2Back<>+60(SB)/4, $30
GLOBL pool2Back<>(SB), RODATA|NOPTR, $64

// Qword permutation: lane 2i gets qword i, lane 2i+1 qword 4+i.
DATA pool2Perm<>+0(SB)/8, $0
DATA pool2Perm<>+8(SB)/8, $4
DATA pool2Perm<>+16(SB)/8, $1
DATA pool2Perm<>+24(SB)/8, $5
DATA pool2Perm<>+32(SB)/8, $2
DATA pool2Perm<>+40(SB)/8, $6
DATA pool2Perm<>+48(SB)/8, $3
DATA pool2Perm<>+56(SB)/8, $7
GLOBL pool2Perm<>(SB), RODATA|NOPTR, $64

// AVX2: the even column offsets of 8 outputs in VSHUFPS order
// (0, 1, 4, 5, 2, 3, 6, 7); VPERMPD $0xD8 puts them back in line.
DATA pool2Shuf<>+0(SB)/4, $0
DATA pool2Shuf<>+4(SB)/4, $2
DATA pool2Shuf<>+8(SB)/4, $8
DATA pool2Shuf<>+12(SB)/4, $10
DATA pool2Shuf<>+16(SB)/4, $4
DATA pool2Shuf<>+20(SB)/4, $6
DATA pool2Shuf<>+24(SB)/4, $12
DATA pool2Shuf<>+28(SB)/4, $14
GLOBL pool2Shuf<>(SB), RODATA|NOPTR, $32

// Loads read whole vectors, beyond the chunk, while they stay inside the
// input (end-8(SP) is its end): masked loads with partial masks are slow
// on AMD; the stores are always masked to the chunk.
//
// Register use of both directions: SI the first input row of the current
// output row (forward) or DI (backward), R14 the second, R11 the flat index
// of the first, DX the width w, R10 ow, R9 output rows left in the plane,
// BX planes left, R12 outputs done in the row, CX this chunk's outputs.

// chunk16 sets CX = min(16, R10-R12), K3 to CX ones and K1:K2 to 2*CX
// ones, or jumps to done when the row is finished.
#define chunk16(done) \
	MOVQ  R10, CX; \
	SUBQ  R12, CX; \
	JLE   done; \
	MOVQ  $16, AX; \
	CMPQ  CX, AX; \
	CMOVQGT AX, CX; \
	MOVQ  $1, AX; \
	SHLQ  CX, AX; \
	DECQ  AX; \
	KMOVW AX, K3; \
	MOVQ  AX, R13; \
	SHLQ  CX, R13; \
	ORQ   AX, R13; \
	KMOVW R13, K1; \
	SHRQ  $16, R13; \
	KMOVW R13, K2

// func maxPool2AVX512(x, y *float32, arg *int32, planes, h, w, base int)
TEXT ·maxPool2AVX512(SB), NOSPLIT, $8-56
	MOVQ         x+0(FP), SI
	MOVQ         y+8(FP), DI
	MOVQ         arg+16(FP), R8
	MOVQ         planes+24(FP), BX
	MOVQ         w+40(FP), DX
	MOVQ         base+48(FP), R11
	MOVQ         BX, AX
	IMULQ        h+32(FP), AX
	IMULQ        DX, AX
	LEAQ         (SI)(AX*4), AX
	MOVQ         AX, end-8(SP)
	MOVQ         DX, R10
	SHRQ         $1, R10
	VMOVDQU32    pool2Even<>(SB), Z30
	VPTERNLOGD   $0xff, Z26, Z26, Z26 // all ones
	VPSUBD       Z26, Z30, Z31        // odd: even + 1
	VPBROADCASTD DX, Z27
	VPADDD       Z27, Z30, Z29        // second row, even
	VPADDD       Z27, Z31, Z28        // second row, odd

plane:
	MOVQ h+32(FP), R9
	SHRQ $1, R9

row:
	LEAQ (SI)(DX*4), R14
	XORQ R12, R12

chunk:
	chunk16(rowDone)
	LEAQ      128(R14)(R12*8), AX
	CMPQ      AX, end-8(SP)
	JHI       masked
	VMOVUPS   (SI)(R12*8), Z0
	VMOVUPS   64(SI)(R12*8), Z1
	VMOVUPS   (R14)(R12*8), Z2
	VMOVUPS   64(R14)(R12*8), Z3
	JMP       loaded

masked:
	VMOVUPS.Z (SI)(R12*8), K1, Z0
	VMOVUPS.Z 64(SI)(R12*8), K2, Z1
	VMOVUPS.Z (R14)(R12*8), K1, Z2
	VMOVUPS.Z 64(R14)(R12*8), K2, Z3

loaded:
	VMOVDQA32 Z30, Z10
	VPERMI2PS Z1, Z0, Z10             // row 0, even: the running best
	VMOVDQA32 Z31, Z12
	VPERMI2PS Z1, Z0, Z12             // row 0, odd
	VMOVDQA32 Z30, Z13
	VPERMI2PS Z3, Z2, Z13             // row 1, even
	VMOVDQA32 Z31, Z14
	VPERMI2PS Z3, Z2, Z14             // row 1, odd
	LEAQ      (R11)(R12*2), AX
	VPBROADCASTD AX, Z4
	VPADDD    Z30, Z4, Z11            // the best's index
	VCMPPS    $0x1e, Z10, Z12, K4     // greater, ordered: a NaN never wins
	VMOVAPS   Z12, K4, Z10
	VPADDD    Z31, Z4, K4, Z11
	VCMPPS    $0x1e, Z10, Z13, K4
	VMOVAPS   Z13, K4, Z10
	VPADDD    Z29, Z4, K4, Z11
	VCMPPS    $0x1e, Z10, Z14, K4
	VMOVAPS   Z14, K4, Z10
	VPADDD    Z28, Z4, K4, Z11
	VMOVUPS   Z10, K3, (DI)
	VMOVDQU32 Z11, K3, (R8)
	LEAQ      (DI)(CX*4), DI
	LEAQ      (R8)(CX*4), R8
	ADDQ      CX, R12
	JMP       chunk

rowDone:
	LEAQ (SI)(DX*8), SI
	LEAQ (R11)(DX*2), R11
	DECQ R9
	JNZ  row
	MOVQ h+32(FP), AX
	TESTQ $1, AX
	JZ   nextPlane
	LEAQ (SI)(DX*4), SI // odd h: skip the unpooled last row
	ADDQ DX, R11

nextPlane:
	DECQ BX
	JNZ  plane
	VZEROUPPER
	RET

// The backward kernel writes each pair of window rows whole: it permutes
// 16 outputs' dy and arg by qwords (pool2Perm), compares arg with the four
// candidate indices of each output, keeps 0 + dy where equal (+0 else),
// and VUNPCKLPS/VUNPCKHPS interleave the even and odd columns back into
// 32 values of a row.

// func maxPool2BackwardAVX512(dy *float32, arg *int32, dx *float32, planes, h, w, base int)
TEXT ·maxPool2BackwardAVX512(SB), NOSPLIT, $8-56
	MOVQ         dy+0(FP), SI
	MOVQ         arg+8(FP), R8
	MOVQ         dx+16(FP), DI
	MOVQ         planes+24(FP), BX
	MOVQ         w+40(FP), DX
	MOVQ         base+48(FP), R11
	MOVQ         DX, R10
	SHRQ         $1, R10
	MOVQ         h+32(FP), AX
	SHRQ         $1, AX
	IMULQ        R10, AX
	IMULQ        BX, AX
	LEAQ         (SI)(AX*4), AX
	MOVQ         AX, end-8(SP)
	VPXORD       Z16, Z16, Z16
	VMOVDQU64    pool2Perm<>(SB), Z25
	VMOVDQU32    pool2Back<>(SB), Z30
	VPTERNLOGD   $0xff, Z26, Z26, Z26
	VPSUBD       Z26, Z30, Z31
	VPBROADCASTD DX, Z27
	VPADDD       Z27, Z30, Z29
	VPADDD       Z27, Z31, Z28

plane:
	MOVQ h+32(FP), R9
	SHRQ $1, R9

row:
	LEAQ (DI)(DX*4), R14
	XORQ R12, R12

chunk:
	chunk16(rowDone)
	LEAQ        64(SI), AX
	CMPQ        AX, end-8(SP)
	JHI         masked
	VMOVUPS     (SI), Z0
	VMOVDQU32   (R8), Z1
	JMP         loaded

masked:
	VMOVUPS.Z   (SI), K3, Z0
	VMOVDQU32.Z (R8), K3, Z1

loaded:
	VADDPS      Z16, Z0, Z0 // 0 + dy, as the reference adds to a cleared dx
	VPERMQ      Z0, Z25, Z0
	VPERMQ      Z1, Z25, Z1
	LEAQ        (R11)(R12*2), AX
	VPBROADCASTD AX, Z4

	VPADDD    Z30, Z4, Z5
	VPCMPEQD  Z5, Z1, K4
	VMOVAPS.Z Z0, K4, Z6
	VPADDD    Z31, Z4, Z5
	VPCMPEQD  Z5, Z1, K5
	VMOVAPS.Z Z0, K5, Z7
	VUNPCKLPS Z7, Z6, Z8
	VUNPCKHPS Z7, Z6, Z9
	VMOVUPS   Z8, K1, (DI)(R12*8)
	VMOVUPS   Z9, K2, 64(DI)(R12*8)

	VPADDD    Z29, Z4, Z5
	VPCMPEQD  Z5, Z1, K4
	VMOVAPS.Z Z0, K4, Z6
	VPADDD    Z28, Z4, Z5
	VPCMPEQD  Z5, Z1, K5
	VMOVAPS.Z Z0, K5, Z7
	VUNPCKLPS Z7, Z6, Z8
	VUNPCKHPS Z7, Z6, Z9
	VMOVUPS   Z8, K1, (R14)(R12*8)
	VMOVUPS   Z9, K2, 64(R14)(R12*8)

	LEAQ (SI)(CX*4), SI
	LEAQ (R8)(CX*4), R8
	ADDQ CX, R12
	JMP  chunk

rowDone:
	LEAQ (DI)(DX*8), DI
	LEAQ (R11)(DX*2), R11
	DECQ R9
	JNZ  row
	MOVQ h+32(FP), AX
	TESTQ $1, AX
	JZ   nextPlane
	LEAQ (DI)(DX*4), DI
	ADDQ DX, R11

nextPlane:
	DECQ BX
	JNZ  plane
	VZEROUPPER
	RET

// chunk8 is chunk16 for AVX2: CX = min(8, R10-R12), and for a short chunk
// (CX < 8) Y11 = CX dword ones and Y12:Y13 = 2*CX ones; a full one jumps
// to full.
#define chunk8(done, full, wide, masked) \
	MOVQ     R10, CX; \
	SUBQ     R12, CX; \
	JLE      done; \
	MOVQ     $8, AX; \
	CMPQ     CX, AX; \
	CMOVQGT  AX, CX; \
	CMPQ     CX, AX; \
	JEQ      full; \
	LEAQ     maskTab<>+32(SB), R13; \
	MOVQ     CX, AX; \
	SHLQ     $2, AX; \
	NEGQ     AX; \
	VMOVDQU  (R13)(AX*1), Y11; \
	CMPQ     CX, $4; \
	JGT      wide; \
	VMOVDQU  (R13)(AX*2), Y12; \
	VPXOR    Y13, Y13, Y13; \
	JMP      masked; \
wide: \
	VPCMPEQD Y12, Y12, Y12; \
	VMOVDQU  32(R13)(AX*2), Y13; \
masked:

// pick2(cand, off): where cand > best (Y6), best = cand and its index
// (Y10 + off) into Y5.
#define pick2(cand, off) \
	VCMPPS    $0x1e, Y6, cand, Y4; \
	VBLENDVPS Y4, cand, Y6, Y6; \
	VPADDD    off, Y10, Y0; \
	VBLENDVPS Y4, Y0, Y5, Y5

// func maxPool2AVX2(x, y *float32, arg *int32, planes, h, w, base int)
TEXT ·maxPool2AVX2(SB), NOSPLIT, $8-56
	MOVQ         x+0(FP), SI
	MOVQ         y+8(FP), DI
	MOVQ         arg+16(FP), R8
	MOVQ         planes+24(FP), BX
	MOVQ         w+40(FP), DX
	MOVQ         base+48(FP), R11
	MOVQ         BX, AX
	IMULQ        h+32(FP), AX
	IMULQ        DX, AX
	LEAQ         (SI)(AX*4), AX
	MOVQ         AX, end-8(SP)
	MOVQ         DX, R10
	SHRQ         $1, R10
	VMOVDQU      pool2Shuf<>(SB), Y15
	VPCMPEQD     Y0, Y0, Y0
	VPSUBD       Y0, Y15, Y14  // odd
	VMOVQ        DX, X0
	VPBROADCASTD X0, Y0
	VPADDD       Y0, Y15, Y9   // second row, even
	VPADDD       Y0, Y14, Y8   // second row, odd

plane:
	MOVQ h+32(FP), R9
	SHRQ $1, R9

row:
	LEAQ (SI)(DX*4), R14
	XORQ R12, R12

chunk:
	chunk8(rowDone, full, wide, masked)
	LEAQ       64(R14)(R12*8), AX
	CMPQ       AX, end-8(SP)
	JLS        full
	VMASKMOVPS (SI)(R12*8), Y12, Y0
	VMASKMOVPS 32(SI)(R12*8), Y13, Y1
	VMASKMOVPS (R14)(R12*8), Y12, Y2
	VMASKMOVPS 32(R14)(R12*8), Y13, Y3
	JMP        loaded

full:
	VMOVUPS (SI)(R12*8), Y0
	VMOVUPS 32(SI)(R12*8), Y1
	VMOVUPS (R14)(R12*8), Y2
	VMOVUPS 32(R14)(R12*8), Y3

loaded:
	VSHUFPS      $0x88, Y1, Y0, Y6 // row 0, even: the running best
	VSHUFPS      $0xdd, Y1, Y0, Y7 // row 0, odd
	VSHUFPS      $0x88, Y3, Y2, Y12
	VSHUFPS      $0xdd, Y3, Y2, Y13
	LEAQ         (R11)(R12*2), AX
	VMOVQ        AX, X10
	VPBROADCASTD X10, Y10
	VPADDD       Y15, Y10, Y5
	pick2(Y7, Y14)
	pick2(Y12, Y9)
	pick2(Y13, Y8)
	VPERMPD      $0xd8, Y6, Y6
	VPERMQ       $0xd8, Y5, Y5
	CMPQ         CX, $8
	JLT          short
	VMOVUPS      Y6, (DI)
	VMOVDQU      Y5, (R8)
	JMP          stored

short:
	VMASKMOVPS Y6, Y11, (DI)
	VPMASKMOVD Y5, Y11, (R8)

stored:
	LEAQ (DI)(CX*4), DI
	LEAQ (R8)(CX*4), R8
	ADDQ CX, R12
	JMP  chunk

rowDone:
	LEAQ (SI)(DX*8), SI
	LEAQ (R11)(DX*2), R11
	DECQ R9
	JNZ  row
	MOVQ h+32(FP), AX
	TESTQ $1, AX
	JZ   nextPlane
	LEAQ (SI)(DX*4), SI
	ADDQ DX, R11

nextPlane:
	DECQ BX
	JNZ  plane
	VZEROUPPER
	RET

// route2(off, dst): the values of dy (Y0, permuted) whose arg (Y1) is
// Y10 + off, else +0, into dst.
#define route2(off, dst) \
	VPADDD   off, Y10, dst; \
	VPCMPEQD dst, Y1, dst; \
	VANDPS   Y0, dst, dst

// func maxPool2BackwardAVX2(dy *float32, arg *int32, dx *float32, planes, h, w, base int)
TEXT ·maxPool2BackwardAVX2(SB), NOSPLIT, $8-56
	MOVQ         dy+0(FP), SI
	MOVQ         arg+8(FP), R8
	MOVQ         dx+16(FP), DI
	MOVQ         planes+24(FP), BX
	MOVQ         w+40(FP), DX
	MOVQ         base+48(FP), R11
	MOVQ         DX, R10
	SHRQ         $1, R10
	MOVQ         h+32(FP), AX
	SHRQ         $1, AX
	IMULQ        R10, AX
	IMULQ        BX, AX
	LEAQ         (SI)(AX*4), AX
	MOVQ         AX, end-8(SP)
	VMOVDQU      pool2Shuf<>(SB), Y15
	VPCMPEQD     Y0, Y0, Y0
	VPSUBD       Y0, Y15, Y14
	VMOVQ        DX, X0
	VPBROADCASTD X0, Y0
	VPADDD       Y0, Y15, Y9
	VPADDD       Y0, Y14, Y8

plane:
	MOVQ h+32(FP), R9
	SHRQ $1, R9

row:
	LEAQ (DI)(DX*4), R14
	XORQ R12, R12

chunk:
	chunk8(rowDone, full, wide, masked)
	LEAQ       32(SI), AX
	CMPQ       AX, end-8(SP)
	JLS        full
	VMASKMOVPS (SI), Y11, Y0
	VPMASKMOVD (R8), Y11, Y1
	JMP        loaded

full:
	VMOVUPS (SI), Y0
	VMOVDQU (R8), Y1

loaded:
	VXORPS       Y2, Y2, Y2
	VADDPS       Y2, Y0, Y0 // 0 + dy
	VPERMPD      $0xd8, Y0, Y0
	VPERMQ       $0xd8, Y1, Y1
	LEAQ         (R11)(R12*2), AX
	VMOVQ        AX, X10
	VPBROADCASTD X10, Y10
	route2(Y15, Y2)
	route2(Y14, Y3)
	VUNPCKLPS    Y3, Y2, Y4
	VUNPCKHPS    Y3, Y2, Y5
	route2(Y9, Y2)
	route2(Y8, Y3)
	VUNPCKLPS    Y3, Y2, Y6
	VUNPCKHPS    Y3, Y2, Y7
	CMPQ         CX, $8
	JLT          short
	VMOVUPS      Y4, (DI)(R12*8)
	VMOVUPS      Y5, 32(DI)(R12*8)
	VMOVUPS      Y6, (R14)(R12*8)
	VMOVUPS      Y7, 32(R14)(R12*8)
	JMP          stored

short:
	VMASKMOVPS Y4, Y12, (DI)(R12*8)
	VMASKMOVPS Y5, Y13, 32(DI)(R12*8)
	VMASKMOVPS Y6, Y12, (R14)(R12*8)
	VMASKMOVPS Y7, Y13, 32(R14)(R12*8)

stored:
	LEAQ (SI)(CX*4), SI
	LEAQ (R8)(CX*4), R8
	ADDQ CX, R12
	JMP  chunk

rowDone:
	LEAQ (DI)(DX*8), DI
	LEAQ (R11)(DX*2), R11
	DECQ R9
	JNZ  row
	MOVQ h+32(FP), AX
	TESTQ $1, AX
	JZ   nextPlane
	LEAQ (DI)(DX*4), DI
	ADDQ DX, R11

nextPlane:
	DECQ BX
	JNZ  plane
	VZEROUPPER
	RET

// ---------------------------------------------------------- Batch norm

// With s > 1 the sums kernels walk one channel's n runs of s values,
// stride bytes apart (DX), with AX the byte offset of the current value,
// R10 that of the current run and CX the values left in it; the apply
// kernels walk consecutive runs of one sample, a channel each, with the
// channels' parameters. The s = 1 kernels take chunks of channels, one per
// lane, down n rows.

// hsum512(z, y, x): x = the sum of z's 8 doubles (y, x: z's lower halves).
#define hsum512(z, y, x) \
	VEXTRACTF64X4 $1, z, Y8; \
	VADDPD        Y8, y, y; \
	VEXTRACTF128  $1, y, X8; \
	VADDPD        X8, x, x; \
	VUNPCKHPD     x, x, X8; \
	VADDSD        X8, x, x

// hsum2(y, x): x = the sum of y's 4 doubles; clobbers X15.
#define hsum2(y, x) \
	VEXTRACTF128 $1, y, X15; \
	VADDPD       X15, x, x; \
	VUNPCKHPD    x, x, X15; \
	VADDSD       X15, x, x

// func normSumsAVX512(x *float32, n, stride, s int, k float64) (sum, sq float64)
TEXT ·normSumsAVX512(SB), NOSPLIT, $0-56
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), BX
	MOVQ         stride+16(FP), DX
	SHLQ         $2, DX
	MOVQ         s+24(FP), R9
	VBROADCASTSD k+32(FP), Z16
	VXORPD       Z0, Z0, Z0
	VXORPD       Z1, Z1, Z1
	VXORPD       Z2, Z2, Z2
	VXORPD       Z3, Z3, Z3
	VXORPD       Z10, Z10, Z10
	VXORPD       Z11, Z11, Z11
	VXORPD       Z12, Z12, Z12
	VXORPD       Z13, Z13, Z13
	XORQ         R10, R10

run:
	MOVQ R10, AX
	MOVQ R9, CX

loop32:
	CMPQ        CX, $32
	JLT         loop
	VCVTPS2PD   (SI)(AX*1), Z4
	VCVTPS2PD   32(SI)(AX*1), Z5
	VCVTPS2PD   64(SI)(AX*1), Z6
	VCVTPS2PD   96(SI)(AX*1), Z7
	VSUBPD      Z16, Z4, Z4
	VSUBPD      Z16, Z5, Z5
	VSUBPD      Z16, Z6, Z6
	VSUBPD      Z16, Z7, Z7
	VADDPD      Z4, Z0, Z0
	VADDPD      Z5, Z1, Z1
	VADDPD      Z6, Z10, Z10
	VADDPD      Z7, Z11, Z11
	VFMADD231PD Z4, Z4, Z2
	VFMADD231PD Z5, Z5, Z3
	VFMADD231PD Z6, Z6, Z12
	VFMADD231PD Z7, Z7, Z13
	ADDQ        $128, AX
	SUBQ        $32, CX
	JMP         loop32

loop:
	CMPQ        CX, $16
	JLT         tail
	VCVTPS2PD   (SI)(AX*1), Z4
	VCVTPS2PD   32(SI)(AX*1), Z5
	VSUBPD      Z16, Z4, Z4
	VSUBPD      Z16, Z5, Z5
	VADDPD      Z4, Z0, Z0
	VADDPD      Z5, Z1, Z1
	VFMADD231PD Z4, Z4, Z2
	VFMADD231PD Z5, Z5, Z3
	ADDQ        $64, AX
	SUBQ        $16, CX
	JMP         loop

tail:
	TESTQ         CX, CX
	JZ            next
	maskOnes(R11, K1)
	KSHIFTRW      $8, K1, K2
	VMOVUPS.Z     (SI)(AX*1), K1, Z6
	VCVTPS2PD     Y6, Z4
	VEXTRACTF64X4 $1, Z6, Y7
	VCVTPS2PD     Y7, Z5
	VSUBPD.Z      Z16, Z4, K1, Z4 // masked lanes stay 0, not -k
	VSUBPD.Z      Z16, Z5, K2, Z5
	VADDPD        Z4, Z0, Z0
	VADDPD        Z5, Z1, Z1
	VFMADD231PD   Z4, Z4, Z2
	VFMADD231PD   Z5, Z5, Z3

next:
	ADDQ   DX, R10
	DECQ   BX
	JNZ    run
	VADDPD Z10, Z0, Z0
	VADDPD Z11, Z1, Z1
	VADDPD Z12, Z2, Z2
	VADDPD Z13, Z3, Z3
	VADDPD Z1, Z0, Z0
	VADDPD Z3, Z2, Z2
	hsum512(Z0, Y0, X0)
	hsum512(Z2, Y2, X2)
	VMOVSD X0, sum+40(FP)
	VMOVSD X2, sq+48(FP)
	VZEROUPPER
	RET

// func normSumsAVX2(x *float32, n, stride, s int, k float64) (sum, sq float64)
TEXT ·normSumsAVX2(SB), NOSPLIT, $0-56
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), BX
	MOVQ         stride+16(FP), DX
	SHLQ         $2, DX
	MOVQ         s+24(FP), R9
	VBROADCASTSD k+32(FP), Y8
	VXORPD       Y0, Y0, Y0
	VXORPD       Y1, Y1, Y1
	VXORPD       Y2, Y2, Y2
	VXORPD       Y3, Y3, Y3
	VXORPD       X6, X6, X6
	VXORPD       X7, X7, X7
	XORQ         R10, R10

run:
	MOVQ R10, AX
	MOVQ R9, CX

loop:
	CMPQ        CX, $8
	JLT         tail
	VCVTPS2PD   (SI)(AX*1), Y4
	VCVTPS2PD   16(SI)(AX*1), Y5
	VSUBPD      Y8, Y4, Y4
	VSUBPD      Y8, Y5, Y5
	VADDPD      Y4, Y0, Y0
	VADDPD      Y5, Y1, Y1
	VFMADD231PD Y4, Y4, Y2
	VFMADD231PD Y5, Y5, Y3
	ADDQ        $32, AX
	SUBQ        $8, CX
	JMP         loop

tail:
	TESTQ       CX, CX
	JZ          next
	VCVTSS2SD   (SI)(AX*1), X4, X4
	VSUBSD      X8, X4, X4
	VADDSD      X4, X6, X6
	VFMADD231SD X4, X4, X7
	ADDQ        $4, AX
	DECQ        CX
	JMP         tail

next:
	ADDQ   DX, R10
	DECQ   BX
	JNZ    run
	VADDPD Y1, Y0, Y0
	VADDPD Y3, Y2, Y2
	hsum2(Y0, X0)
	hsum2(Y2, X2)
	VADDSD X6, X0, X0
	VADDSD X7, X2, X2
	VMOVSD X0, sum+40(FP)
	VMOVSD X2, sq+48(FP)
	VZEROUPPER
	RET

// func normSumsColsAVX512(x *float32, n, stride, cols int, sum, sq *float64)
TEXT ·normSumsColsAVX512(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), BX
	MOVQ stride+16(FP), DX
	SHLQ $2, DX
	MOVQ cols+24(FP), R9
	MOVQ sum+32(FP), R10
	MOVQ sq+40(FP), R11

chunk:
	MOVQ      $8, AX
	MOVQ      R9, CX
	CMPQ      CX, AX
	CMOVQGT   AX, CX
	maskOnes(AX, K1)
	VMOVUPS.Z (SI), K1, Y4
	VCVTPS2PD Y4, Z16      // the shift: row 0
	VXORPD    Z0, Z0, Z0
	VXORPD    Z1, Z1, Z1
	MOVQ      SI, AX
	MOVQ      BX, R8

row:
	VMOVUPS.Z   (AX), K1, Y4
	VCVTPS2PD   Y4, Z4
	VSUBPD      Z16, Z4, Z4
	VADDPD      Z4, Z0, Z0
	VFMADD231PD Z4, Z4, Z1
	ADDQ        DX, AX
	DECQ        R8
	JNZ         row
	VMOVUPD     Z0, K1, (R10)
	VMOVUPD     Z1, K1, (R11)
	LEAQ        (SI)(CX*4), SI
	LEAQ        (R10)(CX*8), R10
	LEAQ        (R11)(CX*8), R11
	SUBQ        CX, R9
	JG          chunk
	VZEROUPPER
	RET

// func normSumsColsAVX2(x *float32, n, stride, cols int, sum, sq *float64)
TEXT ·normSumsColsAVX2(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), BX
	MOVQ stride+16(FP), DX
	SHLQ $2, DX
	MOVQ cols+24(FP), R9
	MOVQ sum+32(FP), R10
	MOVQ sq+40(FP), R11

chunk:
	VCVTPS2PD (SI), Y8
	VCVTPS2PD 16(SI), Y9
	VXORPD    Y0, Y0, Y0
	VXORPD    Y1, Y1, Y1
	VXORPD    Y2, Y2, Y2
	VXORPD    Y3, Y3, Y3
	MOVQ      SI, AX
	MOVQ      BX, R8

row:
	VCVTPS2PD   (AX), Y4
	VCVTPS2PD   16(AX), Y5
	VSUBPD      Y8, Y4, Y4
	VSUBPD      Y9, Y5, Y5
	VADDPD      Y4, Y0, Y0
	VADDPD      Y5, Y1, Y1
	VFMADD231PD Y4, Y4, Y2
	VFMADD231PD Y5, Y5, Y3
	ADDQ        DX, AX
	DECQ        R8
	JNZ         row
	VMOVUPD     Y0, (R10)
	VMOVUPD     Y1, 32(R10)
	VMOVUPD     Y2, (R11)
	VMOVUPD     Y3, 32(R11)
	ADDQ        $32, SI
	ADDQ        $64, R10
	ADDQ        $64, R11
	SUBQ        $8, R9
	JG          chunk
	VZEROUPPER
	RET

// normApply(r, xh): xh = (r - mean)*inv, r = gamma*xh + beta, rounding the
// product; mean, inv, gamma, beta in Z16..Z19 or Y8..Y11.
#define normApply512(r) \
	VSUBPS Z16, r, r; \
	VMULPS Z17, r, r

#define normScale512(r) \
	VMULPS Z18, r, r; \
	VADDPS Z19, r, r

#define normApply2(r) \
	VSUBPS Y8, r, r; \
	VMULPS Y9, r, r

#define normScale2(r) \
	VMULPS Y10, r, r; \
	VADDPS Y11, r, r

// The wrapper passes xhat = y when it has no xhat: y is written twice.

// func normApplyAVX512(x, y, xhat *float32, runs, s int, mean, inv, gamma, beta *float32)
TEXT ·normApplyAVX512(SB), NOSPLIT, $0-72
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ xhat+16(FP), R8
	MOVQ runs+24(FP), BX
	MOVQ s+32(FP), R9
	MOVQ mean+40(FP), R10
	MOVQ inv+48(FP), R11
	MOVQ gamma+56(FP), R12
	MOVQ beta+64(FP), R13
	MOVQ R9, CX
	ANDQ $15, CX
	maskOnes(AX, K1) // each run's tail
	XORQ AX, AX

run:
	VBROADCASTSS (R10), Z16
	VBROADCASTSS (R11), Z17
	VBROADCASTSS (R12), Z18
	VBROADCASTSS (R13), Z19
	MOVQ         R9, CX

loop:
	CMPQ    CX, $16
	JLT     tail
	VMOVUPS (SI)(AX*1), Z0
	normApply512(Z0)
	VMOVUPS Z0, (R8)(AX*1)
	normScale512(Z0)
	VMOVUPS Z0, (DI)(AX*1)
	ADDQ    $64, AX
	SUBQ    $16, CX
	JMP     loop

tail:
	TESTQ     CX, CX
	JZ        next
	VMOVUPS.Z (SI)(AX*1), K1, Z0
	normApply512(Z0)
	VMOVUPS   Z0, K1, (R8)(AX*1)
	normScale512(Z0)
	VMOVUPS   Z0, K1, (DI)(AX*1)
	LEAQ      (AX)(CX*4), AX

next:
	ADDQ $4, R10
	ADDQ $4, R11
	ADDQ $4, R12
	ADDQ $4, R13
	DECQ BX
	JNZ  run
	VZEROUPPER
	RET

// func normApplyAVX2(x, y, xhat *float32, runs, s int, mean, inv, gamma, beta *float32)
TEXT ·normApplyAVX2(SB), NOSPLIT, $0-72
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ xhat+16(FP), R8
	MOVQ runs+24(FP), BX
	MOVQ s+32(FP), R9
	MOVQ mean+40(FP), R10
	MOVQ inv+48(FP), R11
	MOVQ gamma+56(FP), R12
	MOVQ beta+64(FP), R13
	XORQ AX, AX

run:
	VBROADCASTSS (R10), Y8
	VBROADCASTSS (R11), Y9
	VBROADCASTSS (R12), Y10
	VBROADCASTSS (R13), Y11
	MOVQ         R9, CX

loop:
	CMPQ    CX, $8
	JLT     tail
	VMOVUPS (SI)(AX*1), Y0
	normApply2(Y0)
	VMOVUPS Y0, (R8)(AX*1)
	normScale2(Y0)
	VMOVUPS Y0, (DI)(AX*1)
	ADDQ    $32, AX
	SUBQ    $8, CX
	JMP     loop

tail:
	TESTQ  CX, CX
	JZ     next
	VMOVSS (SI)(AX*1), X0
	VSUBSS X8, X0, X0
	VMULSS X9, X0, X0
	VMOVSS X0, (R8)(AX*1)
	VMULSS X10, X0, X0
	VADDSS X11, X0, X0
	VMOVSS X0, (DI)(AX*1)
	ADDQ   $4, AX
	DECQ   CX
	JMP    tail

next:
	ADDQ $4, R10
	ADDQ $4, R11
	ADDQ $4, R12
	ADDQ $4, R13
	DECQ BX
	JNZ  run
	VZEROUPPER
	RET

// The s = 1 apply kernels go row by row, a chunk of channels at a time
// with the channels' parameters loaded beside the values.

// func normApplyColsAVX512(x, y, xhat *float32, n, stride, cols int, mean, inv, gamma, beta *float32)
TEXT ·normApplyColsAVX512(SB), NOSPLIT, $0-80
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ xhat+16(FP), R8
	MOVQ n+24(FP), BX
	MOVQ stride+32(FP), DX
	SHLQ $2, DX
	MOVQ cols+40(FP), R9
	MOVQ mean+48(FP), R10
	MOVQ inv+56(FP), R11
	MOVQ gamma+64(FP), R12
	MOVQ beta+72(FP), R13
	MOVQ R9, CX
	ANDQ $15, CX
	maskOnes(AX, K1) // the last chunk's channels

row:
	XORQ AX, AX
	MOVQ R9, CX

chunk:
	CMPQ    CX, $16
	JLT     tail
	VMOVUPS (SI)(AX*1), Z0
	VSUBPS  (R10)(AX*1), Z0, Z0
	VMULPS  (R11)(AX*1), Z0, Z0
	VMOVUPS Z0, (R8)(AX*1)
	VMULPS  (R12)(AX*1), Z0, Z0
	VADDPS  (R13)(AX*1), Z0, Z0
	VMOVUPS Z0, (DI)(AX*1)
	ADDQ    $64, AX
	SUBQ    $16, CX
	JMP     chunk

tail:
	TESTQ     CX, CX
	JZ        next
	VMOVUPS.Z (SI)(AX*1), K1, Z0
	VMOVUPS.Z (R10)(AX*1), K1, Z16
	VMOVUPS.Z (R11)(AX*1), K1, Z17
	VMOVUPS.Z (R12)(AX*1), K1, Z18
	VMOVUPS.Z (R13)(AX*1), K1, Z19
	normApply512(Z0)
	VMOVUPS   Z0, K1, (R8)(AX*1)
	normScale512(Z0)
	VMOVUPS   Z0, K1, (DI)(AX*1)

next:
	ADDQ DX, SI
	ADDQ DX, DI
	ADDQ DX, R8
	DECQ BX
	JNZ  row
	VZEROUPPER
	RET

// func normApplyColsAVX2(x, y, xhat *float32, n, stride, cols int, mean, inv, gamma, beta *float32)
TEXT ·normApplyColsAVX2(SB), NOSPLIT, $0-80
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ xhat+16(FP), R8
	MOVQ n+24(FP), BX
	MOVQ stride+32(FP), DX
	SHLQ $2, DX
	MOVQ cols+40(FP), R9
	MOVQ mean+48(FP), R10
	MOVQ inv+56(FP), R11
	MOVQ gamma+64(FP), R12
	MOVQ beta+72(FP), R13

row:
	XORQ AX, AX
	MOVQ R9, CX

chunk:
	VMOVUPS (SI)(AX*1), Y0
	VSUBPS  (R10)(AX*1), Y0, Y0
	VMULPS  (R11)(AX*1), Y0, Y0
	VMOVUPS Y0, (R8)(AX*1)
	VMULPS  (R12)(AX*1), Y0, Y0
	VADDPS  (R13)(AX*1), Y0, Y0
	VMOVUPS Y0, (DI)(AX*1)
	ADDQ    $32, AX
	SUBQ    $8, CX
	JNZ     chunk
	ADDQ    DX, SI
	ADDQ    DX, DI
	ADDQ    DX, R8
	DECQ    BX
	JNZ     row
	VZEROUPPER
	RET

// func normBackwardSumsAVX512(dy, xhat *float32, n, stride, s int) (sumDy, sumDyXhat float64)
TEXT ·normBackwardSumsAVX512(SB), NOSPLIT, $0-56
	MOVQ   dy+0(FP), SI
	MOVQ   xhat+8(FP), R8
	MOVQ   n+16(FP), BX
	MOVQ   stride+24(FP), DX
	SHLQ   $2, DX
	MOVQ   s+32(FP), R9
	VXORPD Z0, Z0, Z0
	VXORPD Z1, Z1, Z1
	VXORPD Z2, Z2, Z2
	VXORPD Z3, Z3, Z3
	VXORPD Z10, Z10, Z10
	VXORPD Z11, Z11, Z11
	VXORPD Z12, Z12, Z12
	VXORPD Z13, Z13, Z13
	XORQ   R10, R10

run:
	MOVQ R10, AX
	MOVQ R9, CX

loop32:
	CMPQ        CX, $32
	JLT         loop
	VCVTPS2PD   (SI)(AX*1), Z4
	VCVTPS2PD   32(SI)(AX*1), Z5
	VCVTPS2PD   (R8)(AX*1), Z6
	VCVTPS2PD   32(R8)(AX*1), Z7
	VCVTPS2PD   64(SI)(AX*1), Z14
	VCVTPS2PD   96(SI)(AX*1), Z15
	VCVTPS2PD   64(R8)(AX*1), Z17
	VCVTPS2PD   96(R8)(AX*1), Z18
	VADDPD      Z4, Z0, Z0
	VADDPD      Z5, Z1, Z1
	VADDPD      Z14, Z10, Z10
	VADDPD      Z15, Z11, Z11
	VFMADD231PD Z4, Z6, Z2
	VFMADD231PD Z5, Z7, Z3
	VFMADD231PD Z14, Z17, Z12
	VFMADD231PD Z15, Z18, Z13
	ADDQ        $128, AX
	SUBQ        $32, CX
	JMP         loop32

loop:
	CMPQ        CX, $16
	JLT         tail
	VCVTPS2PD   (SI)(AX*1), Z4
	VCVTPS2PD   32(SI)(AX*1), Z5
	VCVTPS2PD   (R8)(AX*1), Z6
	VCVTPS2PD   32(R8)(AX*1), Z7
	VADDPD      Z4, Z0, Z0
	VADDPD      Z5, Z1, Z1
	VFMADD231PD Z4, Z6, Z2
	VFMADD231PD Z5, Z7, Z3
	ADDQ        $64, AX
	SUBQ        $16, CX
	JMP         loop

tail:
	TESTQ         CX, CX
	JZ            next
	maskOnes(R11, K1)
	VMOVUPS.Z     (SI)(AX*1), K1, Z20
	VMOVUPS.Z     (R8)(AX*1), K1, Z21
	VCVTPS2PD     Y20, Z4
	VEXTRACTF64X4 $1, Z20, Y20
	VCVTPS2PD     Y20, Z5
	VCVTPS2PD     Y21, Z6
	VEXTRACTF64X4 $1, Z21, Y21
	VCVTPS2PD     Y21, Z7
	VADDPD        Z4, Z0, Z0
	VADDPD        Z5, Z1, Z1
	VFMADD231PD   Z4, Z6, Z2
	VFMADD231PD   Z5, Z7, Z3

next:
	ADDQ   DX, R10
	DECQ   BX
	JNZ    run
	VADDPD Z10, Z0, Z0
	VADDPD Z11, Z1, Z1
	VADDPD Z12, Z2, Z2
	VADDPD Z13, Z3, Z3
	VADDPD Z1, Z0, Z0
	VADDPD Z3, Z2, Z2
	hsum512(Z0, Y0, X0)
	hsum512(Z2, Y2, X2)
	VMOVSD X0, sumDy+40(FP)
	VMOVSD X2, sumDyXhat+48(FP)
	VZEROUPPER
	RET

// func normBackwardSumsAVX2(dy, xhat *float32, n, stride, s int) (sumDy, sumDyXhat float64)
TEXT ·normBackwardSumsAVX2(SB), NOSPLIT, $0-56
	MOVQ   dy+0(FP), SI
	MOVQ   xhat+8(FP), R8
	MOVQ   n+16(FP), BX
	MOVQ   stride+24(FP), DX
	SHLQ   $2, DX
	MOVQ   s+32(FP), R9
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	VXORPD X10, X10, X10
	VXORPD X11, X11, X11
	XORQ   R10, R10

run:
	MOVQ R10, AX
	MOVQ R9, CX

loop:
	CMPQ        CX, $8
	JLT         tail
	VCVTPS2PD   (SI)(AX*1), Y4
	VCVTPS2PD   16(SI)(AX*1), Y5
	VCVTPS2PD   (R8)(AX*1), Y6
	VCVTPS2PD   16(R8)(AX*1), Y7
	VADDPD      Y4, Y0, Y0
	VADDPD      Y5, Y1, Y1
	VFMADD231PD Y4, Y6, Y2
	VFMADD231PD Y5, Y7, Y3
	ADDQ        $32, AX
	SUBQ        $8, CX
	JMP         loop

tail:
	TESTQ       CX, CX
	JZ          next
	VCVTSS2SD   (SI)(AX*1), X4, X4
	VCVTSS2SD   (R8)(AX*1), X6, X6
	VADDSD      X4, X10, X10
	VFMADD231SD X4, X6, X11
	ADDQ        $4, AX
	DECQ        CX
	JMP         tail

next:
	ADDQ   DX, R10
	DECQ   BX
	JNZ    run
	VADDPD Y1, Y0, Y0
	VADDPD Y3, Y2, Y2
	hsum2(Y0, X0)
	hsum2(Y2, X2)
	VADDSD X10, X0, X0
	VADDSD X11, X2, X2
	VMOVSD X0, sumDy+40(FP)
	VMOVSD X2, sumDyXhat+48(FP)
	VZEROUPPER
	RET

// func normBackwardSumsColsAVX512(dy, xhat *float32, n, stride, cols int, sumDy, sumDyXhat *float64)
TEXT ·normBackwardSumsColsAVX512(SB), NOSPLIT, $0-56
	MOVQ dy+0(FP), SI
	MOVQ xhat+8(FP), DI
	MOVQ n+16(FP), BX
	MOVQ stride+24(FP), DX
	SHLQ $2, DX
	MOVQ cols+32(FP), R9
	MOVQ sumDy+40(FP), R10
	MOVQ sumDyXhat+48(FP), R11

chunk:
	MOVQ    $8, AX
	MOVQ    R9, CX
	CMPQ    CX, AX
	CMOVQGT AX, CX
	maskOnes(AX, K1)
	VXORPD  Z0, Z0, Z0
	VXORPD  Z1, Z1, Z1
	XORQ    AX, AX
	MOVQ    BX, R8

row:
	VMOVUPS.Z   (SI)(AX*1), K1, Y4
	VMOVUPS.Z   (DI)(AX*1), K1, Y5
	VCVTPS2PD   Y4, Z4
	VCVTPS2PD   Y5, Z5
	VADDPD      Z4, Z0, Z0
	VFMADD231PD Z5, Z4, Z1
	ADDQ        DX, AX
	DECQ        R8
	JNZ         row
	VMOVUPD     Z0, K1, (R10)
	VMOVUPD     Z1, K1, (R11)
	LEAQ        (SI)(CX*4), SI
	LEAQ        (DI)(CX*4), DI
	LEAQ        (R10)(CX*8), R10
	LEAQ        (R11)(CX*8), R11
	SUBQ        CX, R9
	JG          chunk
	VZEROUPPER
	RET

// func normBackwardSumsColsAVX2(dy, xhat *float32, n, stride, cols int, sumDy, sumDyXhat *float64)
TEXT ·normBackwardSumsColsAVX2(SB), NOSPLIT, $0-56
	MOVQ dy+0(FP), SI
	MOVQ xhat+8(FP), DI
	MOVQ n+16(FP), BX
	MOVQ stride+24(FP), DX
	SHLQ $2, DX
	MOVQ cols+32(FP), R9
	MOVQ sumDy+40(FP), R10
	MOVQ sumDyXhat+48(FP), R11

chunk:
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	XORQ   AX, AX
	MOVQ   BX, R8

row:
	VCVTPS2PD   (SI)(AX*1), Y4
	VCVTPS2PD   16(SI)(AX*1), Y5
	VCVTPS2PD   (DI)(AX*1), Y6
	VCVTPS2PD   16(DI)(AX*1), Y7
	VADDPD      Y4, Y0, Y0
	VADDPD      Y5, Y1, Y1
	VFMADD231PD Y6, Y4, Y2
	VFMADD231PD Y7, Y5, Y3
	ADDQ        DX, AX
	DECQ        R8
	JNZ         row
	VMOVUPD     Y0, (R10)
	VMOVUPD     Y1, 32(R10)
	VMOVUPD     Y2, (R11)
	VMOVUPD     Y3, 32(R11)
	ADDQ        $32, SI
	ADDQ        $32, DI
	ADDQ        $64, R10
	ADDQ        $64, R11
	SUBQ        $8, R9
	JG          chunk
	VZEROUPPER
	RET

// normBack(d, xh): d = k*((m*d - sumDy) - xh*sumDyXhat), every product
// rounded; m, sumDy, sumDyXhat, k in Z16..Z19 or Y8..Y11.
#define normBack512(d, xh) \
	VMULPS Z16, d, d; \
	VSUBPS Z17, d, d; \
	VMULPS Z18, xh, xh; \
	VSUBPS xh, d, d; \
	VMULPS Z19, d, d

#define normBack2(d, xh) \
	VMULPS Y8, d, d; \
	VSUBPS Y9, d, d; \
	VMULPS Y10, xh, xh; \
	VSUBPS xh, d, d; \
	VMULPS Y11, d, d

// func normBackwardApplyAVX512(dy, xhat, dx *float32, runs, s int, m float32, k, sumDy, sumDyXhat *float32)
TEXT ·normBackwardApplyAVX512(SB), NOSPLIT, $0-72
	MOVQ         dy+0(FP), SI
	MOVQ         xhat+8(FP), R8
	MOVQ         dx+16(FP), DI
	MOVQ         runs+24(FP), BX
	MOVQ         s+32(FP), R9
	VBROADCASTSS m+40(FP), Z16
	MOVQ         k+48(FP), R10
	MOVQ         sumDy+56(FP), R12
	MOVQ         sumDyXhat+64(FP), R13
	MOVQ         R9, CX
	ANDQ         $15, CX
	maskOnes(AX, K1)
	XORQ         AX, AX

run:
	VBROADCASTSS (R12), Z17
	VBROADCASTSS (R13), Z18
	VBROADCASTSS (R10), Z19
	MOVQ         R9, CX

loop:
	CMPQ    CX, $16
	JLT     tail
	VMOVUPS (SI)(AX*1), Z0
	VMOVUPS (R8)(AX*1), Z1
	normBack512(Z0, Z1)
	VMOVUPS Z0, (DI)(AX*1)
	ADDQ    $64, AX
	SUBQ    $16, CX
	JMP     loop

tail:
	TESTQ     CX, CX
	JZ        next
	VMOVUPS.Z (SI)(AX*1), K1, Z0
	VMOVUPS.Z (R8)(AX*1), K1, Z1
	normBack512(Z0, Z1)
	VMOVUPS   Z0, K1, (DI)(AX*1)
	LEAQ      (AX)(CX*4), AX

next:
	ADDQ $4, R10
	ADDQ $4, R12
	ADDQ $4, R13
	DECQ BX
	JNZ  run
	VZEROUPPER
	RET

// func normBackwardApplyAVX2(dy, xhat, dx *float32, runs, s int, m float32, k, sumDy, sumDyXhat *float32)
TEXT ·normBackwardApplyAVX2(SB), NOSPLIT, $0-72
	MOVQ         dy+0(FP), SI
	MOVQ         xhat+8(FP), R8
	MOVQ         dx+16(FP), DI
	MOVQ         runs+24(FP), BX
	MOVQ         s+32(FP), R9
	VBROADCASTSS m+40(FP), Y8
	MOVQ         k+48(FP), R10
	MOVQ         sumDy+56(FP), R12
	MOVQ         sumDyXhat+64(FP), R13
	XORQ         AX, AX

run:
	VBROADCASTSS (R12), Y9
	VBROADCASTSS (R13), Y10
	VBROADCASTSS (R10), Y11
	MOVQ         R9, CX

loop:
	CMPQ    CX, $8
	JLT     tail
	VMOVUPS (SI)(AX*1), Y0
	VMOVUPS (R8)(AX*1), Y1
	normBack2(Y0, Y1)
	VMOVUPS Y0, (DI)(AX*1)
	ADDQ    $32, AX
	SUBQ    $8, CX
	JMP     loop

tail:
	TESTQ  CX, CX
	JZ     next
	VMOVSS (SI)(AX*1), X0
	VMOVSS (R8)(AX*1), X1
	VMULSS X8, X0, X0
	VSUBSS X9, X0, X0
	VMULSS X10, X1, X1
	VSUBSS X1, X0, X0
	VMULSS X11, X0, X0
	VMOVSS X0, (DI)(AX*1)
	ADDQ   $4, AX
	DECQ   CX
	JMP    tail

next:
	ADDQ $4, R10
	ADDQ $4, R12
	ADDQ $4, R13
	DECQ BX
	JNZ  run
	VZEROUPPER
	RET

// The s = 1 backward apply: dx = k*((m*dy - sumDy) - xhat*sumDyXhat), m in
// Z16/Y8 and the channels' k, sumDy, sumDyXhat read beside the values.

// func normBackwardApplyColsAVX512(dy, xhat, dx *float32, n, stride, cols int, m float32, k, sumDy, sumDyXhat *float32)
TEXT ·normBackwardApplyColsAVX512(SB), NOSPLIT, $0-80
	MOVQ         dy+0(FP), SI
	MOVQ         xhat+8(FP), R8
	MOVQ         dx+16(FP), DI
	MOVQ         n+24(FP), BX
	MOVQ         stride+32(FP), DX
	SHLQ         $2, DX
	MOVQ         cols+40(FP), R9
	VBROADCASTSS m+48(FP), Z16
	MOVQ         k+56(FP), R10
	MOVQ         sumDy+64(FP), R12
	MOVQ         sumDyXhat+72(FP), R13
	MOVQ         R9, CX
	ANDQ         $15, CX
	maskOnes(AX, K1)

row:
	XORQ AX, AX
	MOVQ R9, CX

chunk:
	CMPQ    CX, $16
	JLT     tail
	VMULPS  (SI)(AX*1), Z16, Z0
	VSUBPS  (R12)(AX*1), Z0, Z0
	VMOVUPS (R8)(AX*1), Z1
	VMULPS  (R13)(AX*1), Z1, Z1
	VSUBPS  Z1, Z0, Z0
	VMULPS  (R10)(AX*1), Z0, Z0
	VMOVUPS Z0, (DI)(AX*1)
	ADDQ    $64, AX
	SUBQ    $16, CX
	JMP     chunk

tail:
	TESTQ     CX, CX
	JZ        next
	VMOVUPS.Z (SI)(AX*1), K1, Z0
	VMOVUPS.Z (R8)(AX*1), K1, Z1
	VMOVUPS.Z (R12)(AX*1), K1, Z17
	VMOVUPS.Z (R13)(AX*1), K1, Z18
	VMOVUPS.Z (R10)(AX*1), K1, Z19
	normBack512(Z0, Z1)
	VMOVUPS   Z0, K1, (DI)(AX*1)

next:
	ADDQ DX, SI
	ADDQ DX, R8
	ADDQ DX, DI
	DECQ BX
	JNZ  row
	VZEROUPPER
	RET

// func normBackwardApplyColsAVX2(dy, xhat, dx *float32, n, stride, cols int, m float32, k, sumDy, sumDyXhat *float32)
TEXT ·normBackwardApplyColsAVX2(SB), NOSPLIT, $0-80
	MOVQ         dy+0(FP), SI
	MOVQ         xhat+8(FP), R8
	MOVQ         dx+16(FP), DI
	MOVQ         n+24(FP), BX
	MOVQ         stride+32(FP), DX
	SHLQ         $2, DX
	MOVQ         cols+40(FP), R9
	VBROADCASTSS m+48(FP), Y8
	MOVQ         k+56(FP), R10
	MOVQ         sumDy+64(FP), R12
	MOVQ         sumDyXhat+72(FP), R13

row:
	XORQ AX, AX
	MOVQ R9, CX

chunk:
	VMULPS  (SI)(AX*1), Y8, Y0
	VSUBPS  (R12)(AX*1), Y0, Y0
	VMOVUPS (R8)(AX*1), Y1
	VMULPS  (R13)(AX*1), Y1, Y1
	VSUBPS  Y1, Y0, Y0
	VMULPS  (R10)(AX*1), Y0, Y0
	VMOVUPS Y0, (DI)(AX*1)
	ADDQ    $32, AX
	SUBQ    $8, CX
	JNZ     chunk
	ADDQ    DX, SI
	ADDQ    DX, R8
	ADDQ    DX, DI
	DECQ    BX
	JNZ     row
	VZEROUPPER
	RET
