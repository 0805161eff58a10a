using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Rnnx.Simd;

namespace Rnnx.Kernels;

/// <summary>
/// The per-gate products of recurrent dropout for gates of one to three vectors (20 units: 8 + 8 + 4 floats), all
/// gates of a block of rows in one call: for each tile of up to 4 rows, each gate's product runs on a 4 x 3 tile of
/// accumulators over that gate's reduction, with the gate's B rows read where they are (row-major, a few KB: in L1),
/// and goes straight into its destination. The last vector of a gate is placed at width − W, overlapping its left
/// neighbour (as <see cref="GemmCore"/> does): its overlapped lanes recompute the same values from the same old
/// destination, which is read for all of a row's vectors before any is stored, so every store is a full vector and no
/// lane outside the gate is touched. No padded layout, no stack tile and no merge: at 20 units the padded
/// <see cref="GateGemm"/> ran 12 vectors for 10 and merged a 4-lane part of every gate through the stack.
/// <para>
/// Arithmetic: each product sums its reduction in increasing order in one accumulator from zero (one multiply-add
/// each), then <see cref="Multiply{T}"/> adds it to C (or stores it), and <see cref="MaskedInputGrad{T}"/> multiplies it
/// by the gate's mask and adds it to the gradient, gates in increasing order: the bits of <see cref="GateGemm"/>'s
/// <see cref="GateGemm.Multiply{T}"/> and <see cref="GateGemm.ProductMaskedSum{T}"/>, and of the per-gate GEMMs.
/// </para>
/// </summary>
internal static unsafe class SmallGateGemm
{
    /// <summary>Rows per tile.</summary>
    private const int TileRows = 4;

    /// <summary>Vector width the kernel runs at for <typeparamref name="T"/> (0: no SIMD).</summary>
    private static int Width<T>() where T : unmanaged =>
        Vector256.IsHardwareAccelerated ? Vector256<T>.Count : Vector128.IsHardwareAccelerated ? Vector128<T>.Count : 0;

    /// <summary>
    /// Whether gate products of <paramref name="red"/> x <paramref name="width"/> take this kernel: one to three vectors'
    /// worth of columns (W ≤ width ≤ 3W), and a reduction of one k block at most (<see cref="GemmCore.KBlock"/>: the
    /// per-gate GEMMs sum longer ones block by block, whose bits one accumulator would not give).
    /// </summary>
    public static bool Supports<T>(int red, int width) where T : unmanaged
    {
        int w = Width<T>();
        return w > 0 && width >= w && width <= 3 * w && red >= 1 && red <= GemmCore.KBlock;
    }

    /// <summary>
    /// c[r, g·width + j] (+)= Σ_q a[r·lda + g·aGateStride + q] · b[q·ldb + g·width + j] for gates g &lt; usedGates,
    /// j &lt; width, q &lt; red (b row-major: gate g's block at column g·width).
    /// </summary>
    public static void Multiply<T>(int usedGates, int rows, int red, int width, ReadOnlySpan<T> a, int lda, int aGateStride,
        ReadOnlySpan<T> b, int ldb, Span<T> c, int ldc, bool accumulate) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (rows == 0 || usedGates == 0) return;
        if (!Supports<T>(red, width)
            || a.Length < (long)(rows - 1) * lda + (long)(usedGates - 1) * aGateStride + red
            || b.Length < (long)(red - 1) * ldb + (long)usedGates * width
            || c.Length < (long)(rows - 1) * ldc + (long)usedGates * width)
            throw new ArgumentException($"SmallGateGemm.Multiply: A ({a.Length}, lda {lda}), B ({b.Length}, ldb {ldb}) or C ({c.Length}, ldc {ldc}) do not fit {rows} rows of {usedGates} gates of {red} x {width}.");
        fixed (T* pa = a)
        fixed (T* pb = b)
        fixed (T* pc = c)
        {
            var job = new Job<T>
            {
                Rows = rows, Red = red, Width = width, Gates = usedGates, A = pa, Lda = lda, AGate = aGateStride,
                B = pb, Ldb = ldb, BGate = width, BGateRows = 0, C = pc, Ldc = ldc, CGate = width, Accumulate = accumulate,
            };
            Run(job);
        }
    }

    /// <summary>
    /// da[r, j] += Σ_g (Σ_q dc[r·lddc + g·red + q] · bt[(g·red + q)·ldbt + j]) · m_g[j] for gates g &lt; usedGates in
    /// increasing order, j &lt; width, m_g at masks[(r / rowsPerMask)·maskLd + g·width ..]: the input gradient of the
    /// masked products (bt holds each gate's B transposed, gate g's rows from g·red, row-major).
    /// </summary>
    public static void MaskedInputGrad<T>(int usedGates, int rows, int red, int width, ReadOnlySpan<T> dc, int lddc, ReadOnlySpan<T> bt, int ldbt,
        ReadOnlySpan<T> masks, int maskLd, int rowsPerMask, Span<T> da, int ldda) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (rows == 0 || usedGates == 0) return;
        if (!Supports<T>(red, width) || rowsPerMask < 1
            || dc.Length < (long)(rows - 1) * lddc + (long)usedGates * red
            || bt.Length < ((long)usedGates * red - 1) * ldbt + width
            || masks.Length < (long)((rows - 1) / rowsPerMask) * maskLd + (long)usedGates * width
            || da.Length < (long)(rows - 1) * ldda + width)
            throw new ArgumentException($"SmallGateGemm.MaskedInputGrad: dC ({dc.Length}, lddc {lddc}), Bᵀ ({bt.Length}, ldbt {ldbt}), the masks ({masks.Length}, maskLd {maskLd}, {rowsPerMask} rows each) or dA ({da.Length}, ldda {ldda}) do not fit {rows} rows of {usedGates} gates of {red} x {width}.");
        fixed (T* pa = dc)
        fixed (T* pb = bt)
        fixed (T* pm = masks)
        fixed (T* pc = da)
        {
            var job = new Job<T>
            {
                Rows = rows, Red = red, Width = width, Gates = usedGates, A = pa, Lda = lddc, AGate = red,
                B = pb, Ldb = ldbt, BGate = 0, BGateRows = red, C = pc, Ldc = ldda, CGate = 0, Accumulate = true,
                M = pm, MaskLd = maskLd, MaskGate = width, RowsPerMask = rowsPerMask,
            };
            Run(job);
        }
    }

    /// <summary>
    /// One call's operands: gate g's A at A + g·AGate (rows Lda apart, reduction steps adjacent), its B rows at
    /// B + g·(BGate + BGateRows·Ldb) (Ldb apart), its destination at C + g·CGate (rows Ldc apart); with masks (M not
    /// null) each product is multiplied by the gate's mask (M + mask row·MaskLd + g·MaskGate) and added.
    /// </summary>
    private struct Job<T> where T : unmanaged
    {
        public int Rows, Red, Width, Gates, RowsPerMask;
        public T* A, B, C, M;
        public nint Lda, AGate, Ldb, BGate, BGateRows, Ldc, CGate, MaskLd, MaskGate;
        public bool Accumulate;
    }

    private static void Run<T>(in Job<T> job) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (Vector256.IsHardwareAccelerated) Run<T, Vector256<T>, Simd256<T>>(job);
        else Run<T, Vector128<T>, Simd128<T>>(job);
    }

    private static void Run<T, TVec, TOps>(in Job<T> job)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        int w = TOps.Count, nv = (job.Width + w - 1) / w;
        switch (nv)
        {
            case 1: RunVectors<T, TVec, TOps, C1>(job); break;
            case 2: RunVectors<T, TVec, TOps, C2>(job); break;
            default: RunVectors<T, TVec, TOps, C3>(job); break;
        }
    }

    private static void RunVectors<T, TVec, TOps, TNv>(in Job<T> job)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
        where TNv : IConst
    {
        if (job.M == null) RunTiles<T, TVec, TOps, TNv, C1>(job);
        else RunTiles<T, TVec, TOps, TNv, C2>(job);
    }

    /// <summary>Row tiles of <see cref="TileRows"/> (the last one shorter), every gate of a tile before the next tile, gates in order.</summary>
    private static void RunTiles<T, TVec, TOps, TNv, TMasked>(in Job<T> job)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
        where TNv : IConst
        where TMasked : IConst
    {
        nint* maskRows = stackalloc nint[TileRows];
        int whole = job.Rows / TileRows * TileRows;
        for (int r0 = 0; r0 < whole; r0 += TileRows)
            Gates<T, TVec, TOps, TNv, TMasked, C4>(job, r0, maskRows);
        switch (job.Rows - whole)
        {
            case 3: Gates<T, TVec, TOps, TNv, TMasked, C3>(job, whole, maskRows); break;
            case 2: Gates<T, TVec, TOps, TNv, TMasked, C2>(job, whole, maskRows); break;
            case 1: Gates<T, TVec, TOps, TNv, TMasked, C1>(job, whole, maskRows); break;
        }
    }

    private static void Gates<T, TVec, TOps, TNv, TMasked, TMr>(in Job<T> job, int r0, nint* maskRows)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
        where TNv : IConst
        where TMasked : IConst
        where TMr : IConst
    {
        int mr = TMr.Value;
        if (TMasked.Value == 2)
            for (int i = 0; i < mr; i++) maskRows[i] = (r0 + i) / job.RowsPerMask * job.MaskLd;
        // the last vector at width - W (overlapping its neighbour when the width is not a whole number of vectors)
        nint last = job.Width - TOps.Count;
        T* a = job.A + r0 * job.Lda;
        T* c = job.C + r0 * job.Ldc;
        nint bGate = job.BGate + job.BGateRows * job.Ldb;
        for (int g = 0; g < job.Gates; g++)
        {
            Tile<T, TVec, TOps, TNv, TMasked, TMr>(a + g * job.AGate, job.Lda, job.Red, job.B + g * bGate, job.Ldb, last,
                c + g * job.CGate, job.Ldc, job.Accumulate, job.M + g * job.MaskGate, maskRows);
        }
    }

    /// <summary>
    /// TMr rows x TNv vectors (at 0, W and <paramref name="last"/>) of one gate over <paramref name="red"/> steps: 12
    /// accumulators, the 3 B vectors and one broadcast at most (the 16 AVX2 registers), then the row's old destination
    /// read whole before its stores.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile<T, TVec, TOps, TNv, TMasked, TMr>(T* a, nint lda, int red, T* b, nint ldb, nint last,
        T* c, nint ldc, bool acc, T* m, nint* maskRows)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
        where TNv : IConst
        where TMasked : IConst
        where TMr : IConst
    {
        int w = TOps.Count, mr = TMr.Value, nv = TNv.Value;
        nint o1 = nv == 2 ? last : w, o2 = last;
        T* a0 = a;
        T* a1 = mr > 1 ? a0 + lda : a0;
        T* a2 = mr > 2 ? a1 + lda : a0;
        T* a3 = mr > 3 ? a2 + lda : a0;
        TVec z = TOps.Zero;
        TVec s00 = z, s01 = z, s02 = z, s10 = z, s11 = z, s12 = z;
        TVec s20 = z, s21 = z, s22 = z, s30 = z, s31 = z, s32 = z;
        T* pb = b;
        for (nint q = 0; q < red; q++)
        {
            TVec b0 = TOps.Load(pb);
            TVec b1 = nv > 1 ? TOps.Load(pb + o1) : z;
            TVec b2 = nv > 2 ? TOps.Load(pb + o2) : z;
            TVec x = TOps.Splat(a0[q]);
            s00 = TOps.MulAdd(x, b0, s00);
            if (nv > 1) s01 = TOps.MulAdd(x, b1, s01);
            if (nv > 2) s02 = TOps.MulAdd(x, b2, s02);
            if (mr > 1)
            {
                x = TOps.Splat(a1[q]);
                s10 = TOps.MulAdd(x, b0, s10);
                if (nv > 1) s11 = TOps.MulAdd(x, b1, s11);
                if (nv > 2) s12 = TOps.MulAdd(x, b2, s12);
            }
            if (mr > 2)
            {
                x = TOps.Splat(a2[q]);
                s20 = TOps.MulAdd(x, b0, s20);
                if (nv > 1) s21 = TOps.MulAdd(x, b1, s21);
                if (nv > 2) s22 = TOps.MulAdd(x, b2, s22);
            }
            if (mr > 3)
            {
                x = TOps.Splat(a3[q]);
                s30 = TOps.MulAdd(x, b0, s30);
                if (nv > 1) s31 = TOps.MulAdd(x, b1, s31);
                if (nv > 2) s32 = TOps.MulAdd(x, b2, s32);
            }
            pb += ldb;
        }
        Row<T, TVec, TOps, TNv, TMasked>(c, o1, o2, s00, s01, s02, acc, m + maskRows[0]);
        if (mr > 1) Row<T, TVec, TOps, TNv, TMasked>(c + ldc, o1, o2, s10, s11, s12, acc, m + maskRows[1]);
        if (mr > 2) Row<T, TVec, TOps, TNv, TMasked>(c + 2 * ldc, o1, o2, s20, s21, s22, acc, m + maskRows[2]);
        if (mr > 3) Row<T, TVec, TOps, TNv, TMasked>(c + 3 * ldc, o1, o2, s30, s31, s32, acc, m + maskRows[3]);
    }

    /// <summary>
    /// One row of a tile into its destination: c + v (or v), or with masks c + v ⊙ m (the product rounded, then the
    /// sum); every vector's old c is loaded before any store, so that overlapping vectors see the same old values.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row<T, TVec, TOps, TNv, TMasked>(T* c, nint o1, nint o2, TVec v0, TVec v1, TVec v2, bool acc, T* m)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
        where TNv : IConst
        where TMasked : IConst
    {
        int nv = TNv.Value;
        if (TMasked.Value == 2)
        {
            v0 = GemmCore.MultiplyUnfused<T, TVec>(v0, TOps.Load(m));
            if (nv > 1) v1 = GemmCore.MultiplyUnfused<T, TVec>(v1, TOps.Load(m + o1));
            if (nv > 2) v2 = GemmCore.MultiplyUnfused<T, TVec>(v2, TOps.Load(m + o2));
        }
        if (acc)
        {
            TVec c0 = TOps.Load(c);
            TVec c1 = nv > 1 ? TOps.Load(c + o1) : v1;
            TVec c2 = nv > 2 ? TOps.Load(c + o2) : v2;
            v0 = TOps.Add(c0, v0);
            if (nv > 1) v1 = TOps.Add(c1, v1);
            if (nv > 2) v2 = TOps.Add(c2, v2);
        }
        TOps.Store(c, v0);
        if (nv > 1) TOps.Store(c + o1, v1);
        if (nv > 2) TOps.Store(c + o2, v2);
    }
}
