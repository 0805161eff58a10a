using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Rnnx.Simd;

namespace Rnnx.Kernels;

/// <summary>
/// The per-gate products of recurrent dropout in one pass: P[:, g·wp + j] = A_g·B_g for every gate g, where A_g is
/// gate g's block of A (rows × red, at column g·aGateStride of each row: the rows masked by gate g's mask side by side)
/// and B_g (red × width) gate g's block of a matrix packed once by <see cref="Pack{T}"/>. Each gate's block of columns
/// is padded to whole vectors (wp = <see cref="PaddedGateWidth{T}"/>) and the padded blocks are cut into panels of two
/// vectors, so that every vector belongs to one gate: the micro-kernel broadcasts each vector's A element from its own
/// gate's block while the panels stay shared (one pass of R's panels per step instead of one narrow GEMM per gate,
/// which at 20 units run the unpacked fallback on a quarter-filled tile). P has padded rows
/// (<see cref="PaddedWidth{T}"/>, the padding columns zero); callers add or mask it into their own layout.
/// <para>
/// Arithmetic: each element sums its red products in increasing order in one accumulator from zero (one
/// multiply-add each), exactly what <see cref="PackedGemm"/> and <see cref="MatMulKernels"/> do for one k block, so
/// "P, then C + P" gives the bits of the per-gate GEMM with accumulation. <see cref="Supports{T}"/> says when that
/// holds (a SIMD width, width ≥ 4, red ≤ one k block) and when the product is small enough to stay on one thread;
/// callers run the per-gate GEMMs otherwise. The scalar twin is <see cref="Reference.ReferenceRecurrent.GateProduct{T}"/>.
/// </para>
/// </summary>
internal static unsafe class GateGemm
{
    /// <summary>Largest width × red handled (beyond it the per-gate GEMMs are wide enough to run packed and in parallel).</summary>
    private const int MaxGateArea = 64 * 64;

    /// <summary>Whether the gate layout applies to gate blocks of red × width of <typeparamref name="T"/> on this machine.</summary>
    public static bool Supports<T>(int red, int width) where T : unmanaged =>
        PackedGemmCore.Width<T>() > 0 && width >= 4 && red >= 1 && red <= GemmCore.KBlock && width * red <= MaxGateArea;

    /// <summary>Columns of a gate block padded to whole vectors.</summary>
    public static int PaddedGateWidth<T>(int width) where T : unmanaged
    {
        int w = PackedGemmCore.Width<T>();
        return (width + w - 1) / w * w;
    }

    /// <summary>Row length of P for <paramref name="gates"/> gates: the padded gate blocks, rounded up to whole panels.</summary>
    public static int PaddedWidth<T>(int gates, int width) where T : unmanaged
    {
        int nr = 2 * PackedGemmCore.Width<T>();
        return (gates * PaddedGateWidth<T>(width) + nr - 1) / nr * nr;
    }

    /// <summary>Elements <see cref="Pack{T}"/> writes.</summary>
    public static int PackedLength<T>(int gates, int red, int width) where T : unmanaged => checked(PaddedWidth<T>(gates, width) * red);

    /// <summary>
    /// Packs the gate blocks B_g (red × width): B_g[q, j] = b[q·ldb + g·width + j], or with <paramref name="transposed"/>
    /// b[j·ldb + g·red + q] (the blocks of b's transpose). Panel p holds padded columns [p·2W, p·2W + 2W) as a
    /// contiguous red × 2W block; the padding is zero.
    /// </summary>
    public static void Pack<T>(int gates, int red, int width, ReadOnlySpan<T> b, int ldb, bool transposed, Span<T> packed)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int wp = PaddedGateWidth<T>(width), nr = 2 * PackedGemmCore.Width<T>(), total = PaddedWidth<T>(gates, width);
        var dst = packed[..(total * red)];
        dst.Clear();
        for (int g = 0; g < gates; g++)
            for (int j = 0; j < width; j++)
            {
                int col = g * wp + j, panel = col / nr, lane = col % nr;
                int at = panel * red * nr + lane;
                for (int q = 0; q < red; q++)
                    dst[at + q * nr] = transposed ? b[j * ldb + g * red + q] : b[q * ldb + g * width + j];
            }
    }

    /// <summary>
    /// P (rows × <see cref="PaddedWidth{T}"/>, row stride ldp) = the products of the first <paramref name="usedGates"/>
    /// gates, whose blocks are all A must hold (gate g's at column g·aGateStride); P's columns past those gates' blocks
    /// are unspecified.
    /// </summary>
    public static void Product<T>(int gates, int usedGates, int rows, int red, int width, ReadOnlySpan<T> a, int lda, int aGateStride,
        ReadOnlySpan<T> packed, Span<T> p, int ldp) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int wp = PaddedGateWidth<T>(width), w = PackedGemmCore.Width<T>(), nr = 2 * w;
        if (rows == 0 || usedGates == 0) return;
        if (a.Length < (rows - 1) * lda + (usedGates - 1) * aGateStride + red || ldp < PaddedWidth<T>(gates, width)
            || p.Length < (rows - 1) * ldp + PaddedWidth<T>(gates, width) || packed.Length < PackedLength<T>(gates, red, width))
            throw new ArgumentException($"GateGemm.Product: spans too short for {rows} rows of {gates} gates of {red} x {width}.");
        int vectorsPerGate = wp / w, panels = (usedGates * vectorsPerGate + 1) / 2;
        fixed (T* pa = a)
        fixed (T* pb = packed)
        fixed (T* pp = p)
        {
            if (Vector256.IsHardwareAccelerated) Run<T, Vector256<T>, Simd256<T>>(rows, red, pa, lda, aGateStride, vectorsPerGate, usedGates, pb, panels, pp, ldp);
            else Run<T, Vector128<T>, Simd128<T>>(rows, red, pa, lda, aGateStride, vectorsPerGate, usedGates, pb, panels, pp, ldp);
        }
    }

    private static void Run<T, TVec, TOps>(int rows, int red, T* a, nint lda, nint aGateStride, int vectorsPerGate, int usedGates, T* b, int panels,
        T* p, nint ldp)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        int nr = 2 * TOps.Count;
        int tiles = PackedGemmCore.Tiles(rows), height = rows / tiles, taller = rows % tiles;
        for (int j = 0; j < panels; j++)
        {
            // each vector's gate; a panel's second vector past the used gates (padding, or an unused gate's first
            // vector) reads the last used gate's block, so that A is never read outside those blocks
            int g0 = 2 * j / vectorsPerGate, g1 = Math.Min((2 * j + 1) / vectorsPerGate, usedGates - 1);
            T* bj = b + (nint)j * red * nr;
            for (int t = 0; t < tiles; t++)
            {
                int r0 = t * height + Math.Min(t, taller), mr = t < taller ? height + 1 : height;
                T* a0 = a + r0 * lda + g0 * aGateStride, a1 = a + r0 * lda + g1 * aGateStride;
                T* c = p + r0 * ldp + j * nr;
                switch (mr)
                {
                    case 6: Tile<T, TVec, TOps, C6>(a0, a1, lda, red, bj, c, ldp); break;
                    case 5: Tile<T, TVec, TOps, C5>(a0, a1, lda, red, bj, c, ldp); break;
                    case 4: Tile<T, TVec, TOps, C4>(a0, a1, lda, red, bj, c, ldp); break;
                    case 3: Tile<T, TVec, TOps, C3>(a0, a1, lda, red, bj, c, ldp); break;
                    case 2: Tile<T, TVec, TOps, C2>(a0, a1, lda, red, bj, c, ldp); break;
                    default: Tile<T, TVec, TOps, C1>(a0, a1, lda, red, bj, c, ldp); break;
                }
            }
        }
    }

    /// <summary>
    /// MR rows × one panel (two vectors, the first from gate block <paramref name="a0"/>, the second from
    /// <paramref name="a1"/>) over <paramref name="red"/> steps, stored (not added) at c. 12 accumulators, 2 B vectors
    /// and one broadcast at a time: 15 of the 16 AVX2 registers, as <see cref="PackedGemmCore"/>'s tile.
    /// </summary>
    private static void Tile<T, TVec, TOps, TMr>(T* a0, T* a1, nint lda, int red, T* b, T* c, nint ldc)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
        where TMr : IConst
    {
        int w = TOps.Count, mr = TMr.Value;
        TVec z = TOps.Zero;
        TVec s00 = z, s01 = z, s10 = z, s11 = z, s20 = z, s21 = z;
        TVec s30 = z, s31 = z, s40 = z, s41 = z, s50 = z, s51 = z;
        T* pb = b;
        for (int q = 0; q < red; q++)
        {
            TVec b0 = TOps.Load(pb);
            TVec b1 = TOps.Load(pb + w);
            s00 = TOps.MulAdd(TOps.Splat(a0[q]), b0, s00);
            s01 = TOps.MulAdd(TOps.Splat(a1[q]), b1, s01);
            if (mr > 1)
            {
                s10 = TOps.MulAdd(TOps.Splat(a0[lda + q]), b0, s10);
                s11 = TOps.MulAdd(TOps.Splat(a1[lda + q]), b1, s11);
            }
            if (mr > 2)
            {
                s20 = TOps.MulAdd(TOps.Splat(a0[2 * lda + q]), b0, s20);
                s21 = TOps.MulAdd(TOps.Splat(a1[2 * lda + q]), b1, s21);
            }
            if (mr > 3)
            {
                s30 = TOps.MulAdd(TOps.Splat(a0[3 * lda + q]), b0, s30);
                s31 = TOps.MulAdd(TOps.Splat(a1[3 * lda + q]), b1, s31);
            }
            if (mr > 4)
            {
                s40 = TOps.MulAdd(TOps.Splat(a0[4 * lda + q]), b0, s40);
                s41 = TOps.MulAdd(TOps.Splat(a1[4 * lda + q]), b1, s41);
            }
            if (mr > 5)
            {
                s50 = TOps.MulAdd(TOps.Splat(a0[5 * lda + q]), b0, s50);
                s51 = TOps.MulAdd(TOps.Splat(a1[5 * lda + q]), b1, s51);
            }
            pb += 2 * w;
        }
        StoreRow<T, TVec, TOps>(c, s00, s01);
        if (mr > 1) StoreRow<T, TVec, TOps>(c + ldc, s10, s11);
        if (mr > 2) StoreRow<T, TVec, TOps>(c + 2 * ldc, s20, s21);
        if (mr > 3) StoreRow<T, TVec, TOps>(c + 3 * ldc, s30, s31);
        if (mr > 4) StoreRow<T, TVec, TOps>(c + 4 * ldc, s40, s41);
        if (mr > 5) StoreRow<T, TVec, TOps>(c + 5 * ldc, s50, s51);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<T, TVec, TOps>(T* c, TVec v0, TVec v1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        TOps.Store(c, v0);
        TOps.Store(c + TOps.Count, v1);
    }
}
