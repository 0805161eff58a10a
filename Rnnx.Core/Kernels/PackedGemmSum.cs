using System.Numerics;
using Rnnx.Simd;

namespace Rnnx.Kernels;

/// <summary>
/// C = A1·B1 + A2·B2 with both right-hand matrices packed by <see cref="PackedGemm.Pack{T}"/> (same n): an LSTM step's
/// x_t·W + h·R. Tile by tile, the A1·B1 tile is stored and the A2·B2 tile added to it at once, while its C lines are in
/// L1 and both panels' k slices are in L1, instead of one whole pass over C per product (each pass has its own loops,
/// prefetches and C traffic). Per element the same arithmetic as <see cref="PackedGemm.Gemm{T}"/> storing A1·B1 and then
/// accumulating A2·B2: each product summed in increasing k in one accumulator, then one addition; so the same bits.
/// Twin: <see cref="Reference.ReferenceMatMul.GemmInEngineOrder{T}"/> twice (store, then accumulate).
/// </summary>
internal static unsafe class PackedGemmSum
{
    /// <summary>
    /// Both panels' k slices together at most this: they share the 32 KiB L1 with a tile's A rows and C lines. Above it
    /// (U = 256: 2 x 16 KiB) every tile would re-read them from L2, and the two separate passes (each panel in L1
    /// across all the tiles of a row block) are faster.
    /// </summary>
    private const int PanelPairBytes = 16 * 1024;

    /// <summary>
    /// Whether <see cref="Gemm{T}"/> runs the tile-by-tile sum for these sizes on this thread (otherwise it makes the two
    /// products one after the other, which gives the same bits).
    /// </summary>
    internal static bool Fuses<T>(int m, int n, int k1, int k2) where T : unmanaged
    {
        int nr = PackedGemmCore.PanelWidth<T>(n);
        return nr != 0 && m > 2 && k1 > 0 && k2 > 0 && k1 <= GemmCore.KBlock && k2 <= GemmCore.KBlock
            && (long)(k1 + k2) * nr * sizeof(T) <= PanelPairBytes && TeamBoard.CurrentSize <= 1;
    }

    /// <summary>C[m x n] = A1[m x k1]·B1 + A2[m x k2]·B2 (A row-major, B1 and B2 packed k1 x n and k2 x n).</summary>
    /// <param name="m">Rows of C.</param>
    /// <param name="n">Columns of C.</param>
    /// <param name="k1">Reduction length of the first product.</param>
    /// <param name="a1">A1, row i at i·<paramref name="lda1"/>.</param>
    /// <param name="lda1">Row stride of A1.</param>
    /// <param name="packed1">B1, packed.</param>
    /// <param name="k2">Reduction length of the second product.</param>
    /// <param name="a2">A2, row i at i·<paramref name="lda2"/>.</param>
    /// <param name="lda2">Row stride of A2.</param>
    /// <param name="packed2">B2, packed.</param>
    /// <param name="c">C, overwritten.</param>
    /// <param name="ldc">Row stride of C.</param>
    /// <exception cref="ArgumentException">A span is too short for its sizes and stride.</exception>
    internal static void Gemm<T>(int m, int n, int k1, ReadOnlySpan<T> a1, int lda1, ReadOnlySpan<T> packed1,
        int k2, ReadOnlySpan<T> a2, int lda2, ReadOnlySpan<T> packed2, Span<T> c, int ldc)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (!Fuses<T>(m, n, k1, k2))
        {
            PackedGemm.Gemm<T>(false, m, n, k1, a1, lda1, packed1, c, ldc, false);
            PackedGemm.Gemm<T>(false, m, n, k2, a2, lda2, packed2, c, ldc, true);
            return;
        }
        GemmArguments.CheckMatrix("PackedGemmSum.Gemm", m, k1, a1.Length, lda1, nameof(a1), nameof(lda1));
        GemmArguments.CheckMatrix("PackedGemmSum.Gemm", m, k2, a2.Length, lda2, nameof(a2), nameof(lda2));
        GemmArguments.CheckMatrix("PackedGemmSum.Gemm", m, n, c.Length, ldc, nameof(c), nameof(ldc));
        if (packed1.Length < PackedGemmCore.PackedLength<T>(k1, n) || packed2.Length < PackedGemmCore.PackedLength<T>(k2, n))
            throw new ArgumentException($"PackedGemmSum.Gemm: packed spans of {packed1.Length} and {packed2.Length} elements, packed {k1} x {n} and {k2} x {n} matrices need {PackedGemmCore.PackedLength<T>(k1, n)} and {PackedGemmCore.PackedLength<T>(k2, n)}.");
        fixed (T* pa1 = a1)
        fixed (T* pb1 = packed1)
        fixed (T* pa2 = a2)
        fixed (T* pb2 = packed2)
        fixed (T* pc = c)
        {
            if (System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated)
                Run<T, System.Runtime.Intrinsics.Vector256<T>, Simd256<T>>(m, n, k1, pa1, lda1, pb1, k2, pa2, lda2, pb2, pc, ldc);
            else
                Run<T, System.Runtime.Intrinsics.Vector128<T>, Simd128<T>>(m, n, k1, pa1, lda1, pb1, k2, pa2, lda2, pb2, pc, ldc);
        }
    }

    private static void Run<T, TVec, TOps>(int m, int n, int k1, T* a1, nint lda1, T* b1, int k2, T* a2, nint lda2, T* b2, T* c, nint ldc)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        int nr = 2 * TOps.Count, panels = PackedGemmCore.Panels(n, nr);
        // the row tiles of PackedGemmCore.Run (heights differ by at most one); no row blocks: with both k slices in
        // L1, each panel pair is read from L2 once per pass over the rows
        int tiles = PackedGemmCore.Tiles(m), height = m / tiles, taller = m % tiles;
        byte* partialBytes = stackalloc byte[PackedGemmCore.MaxRows * nr * sizeof(T) + 64];
        T* partial = AlignedArrays.CacheLine<T>(partialBytes);
        nint panel1 = (nint)k1 * nr, panel2 = (nint)k2 * nr;
        for (int j = 0; j < panels; j++)
        {
            int col = j * nr, cols = Math.Min(nr, n - col);
            bool full = cols == nr;
            T* p1 = b1 + j * panel1, p2 = b2 + j * panel2;
            for (int t = 0; t < tiles; t++)
            {
                int r0 = t * height + Math.Min(t, taller), rows = t < taller ? height + 1 : height;
                T* ct = c + r0 * ldc + col;
                // a partial panel goes through the stack tile, as in PackedGemmCore.Run: the products with the packed
                // zeros are dropped by the merge, which copies (first product) and then adds (second)
                T* dst = full ? ct : partial;
                nint ldd = full ? ldc : nr;
                PackedGemmCore.TileOf<T, TVec, TOps>(rows, a1 + r0 * lda1, lda1, 1, k1, p1, dst, ldd, false);
                if (!full) PackedGemmCore.Merge(partial, nr, ct, ldc, rows, cols, false);
                PackedGemmCore.TileOf<T, TVec, TOps>(rows, a2 + r0 * lda2, lda2, 1, k2, p2, dst, ldd, full);
                if (!full) PackedGemmCore.Merge(partial, nr, ct, ldc, rows, cols, true);
            }
        }
    }
}
