using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

using Rnnx.Simd;

namespace Rnnx.Kernels;

/// <summary>
/// One packed product (or a part of one: a row range or a panel range), as <see cref="PackedGemmCore"/> runs it.
/// Row i, reduction index p of op(A) is at A[i*ARow + p*AStep]; panel j of op(B) starts at B + j*K*PanelWidth.
/// </summary>
internal unsafe struct PackedPlan<T> where T : unmanaged
{
    public int M, N, K;
    public T* A;
    public nint ARow, AStep;
    public T* B;
    public T* C;
    public nint Ldc;
    public bool Accumulate;
    public int RowStart, RowEnd;
    public int PanelStart, PanelEnd;
}

/// <summary>
/// The engine behind <see cref="PackedGemm"/>: op(B) is stored as panels of <c>2W</c> columns (W = vector width),
/// each a contiguous K x 2W block (the last one zero-padded), so the micro-kernel reads B as one sequential stream
/// whatever N is (rows of an unpacked B strided by N map to the same few L1 sets).
/// <para>
/// Micro-kernel: MR = 1..6 rows x 2 vectors = up to 12 accumulators; each k step loads the two B vectors,
/// broadcasts one A element per row from memory and issues 2·MR FMAs: 12 accumulators + 2 B + 1 broadcast = 15 of
/// the 16 AVX2 registers (a 4 x 3 tile needs all 16, and spills under RyuJIT). 12 independent chains cover the FMA
/// latency (4 cycles) x throughput (2 per cycle) with room to spare. Rows are cut into ceil(M/6) tiles of nearly
/// equal height (16 = 6+5+5, 32 = 6+6+5+5+5+5), so small batches keep 10 or 12 accumulators.
/// </para>
/// <para>
/// Loops: k blocks of <see cref="GemmCore.KBlock"/> (outermost, for the same roundings as the unpacked engine) ›
/// row blocks whose A slice stays in L2 › panels (a K-block slice of one panel, 16 KiB for float, stays in L1) ›
/// row tiles. Each element sums a k block's products in increasing k in one accumulator, then adds the C of the
/// previous block (or the caller's C when accumulating): exactly the arithmetic of <see cref="GemmCore"/>.
/// </para>
/// </summary>
internal static unsafe class PackedGemmCore
{
    /// <summary>Rows of A per row block: about 128 KiB of A per k block, well inside the 512 KiB L2.</summary>
    private const int BlockBytes = 128 * 1024;

    /// <summary>Tallest micro-tile.</summary>
    internal const int MaxRows = 6;

    /// <summary>
    /// Vector width of the packed layout: 256-bit when accelerated, else 128-bit, else 0 (no SIMD: the packed copy is
    /// the plain row-major matrix and the unpacked engine runs on it).
    /// </summary>
    internal static int Width<T>() where T : unmanaged =>
        Vector256.IsHardwareAccelerated ? Vector256<T>.Count : Vector128.IsHardwareAccelerated ? Vector128<T>.Count : 0;

    /// <summary>Panel width (2 vectors) for an n-column op(B), or 0 when the layout is plain row-major.</summary>
    internal static int PanelWidth<T>(int n) where T : unmanaged
    {
        int w = Width<T>();
        // below two vectors the unpacked engine uses narrower or scalar code (different roundings for n &lt; 4, the
        // dot-product kernel for n == 1): keep its layout and let it run
        return w == 0 || n < 2 * w ? 0 : 2 * w;
    }

    /// <summary>Number of row tiles for <paramref name="m"/> rows.</summary>
    internal static int Tiles(int m) => (m + MaxRows - 1) / MaxRows;

    /// <summary>First row of tile <paramref name="t"/> of <paramref name="tiles"/> over m rows (heights differ by at most one).</summary>
    internal static int TileStart(int m, int tiles, int t)
    {
        int height = m / tiles, taller = m % tiles;
        return t * height + Math.Min(t, taller);
    }

    /// <summary>Runs the plan's row range x panel range.</summary>
    public static void Run<T>(in PackedPlan<T> p) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (Vector256.IsHardwareAccelerated)
            Run<T, Vector256<T>, Simd256<T>>(p);
        else
            Run<T, Vector128<T>, Simd128<T>>(p);
    }

    private static void Run<T, TVec, TOps>(in PackedPlan<T> p)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        int w = TOps.Count, nr = 2 * w;
        int m = p.RowEnd - p.RowStart;
        if (m <= 0 || p.PanelEnd <= p.PanelStart)
            return;
        int tiles = Tiles(m);
        int tilesPerBlock = Math.Max(1, BlockBytes / (GemmCore.KBlock * sizeof(T)) / MaxRows);
        nint panelSize = (nint)p.K * nr;
        for (int q0 = 0; q0 < p.K; q0 += GemmCore.KBlock)
        {
            int kq = Math.Min(GemmCore.KBlock, p.K - q0);
            bool acc = p.Accumulate || q0 > 0;
            T* aBlock = p.A + q0 * p.AStep;
            for (int t0 = 0; t0 < tiles; t0 += tilesPerBlock)
            {
                int t1 = Math.Min(tiles, t0 + tilesPerBlock);
                for (int j = p.PanelStart; j < p.PanelEnd; j++)
                {
                    T* b = p.B + j * panelSize + (nint)q0 * nr;
                    int col = j * nr;
                    int cols = Math.Min(nr, p.N - col);
                    for (int t = t0; t < t1; t++)
                    {
                        int r0 = p.RowStart + TileStart(m, tiles, t);
                        int rows = p.RowStart + TileStart(m, tiles, t + 1) - r0;
                        T* a = aBlock + r0 * p.ARow;
                        T* c = p.C + r0 * p.Ldc + col;
                        switch (rows)
                        {
                            case 6: Tile<T, TVec, TOps, C6>(a, p.ARow, p.AStep, kq, b, c, p.Ldc, cols, acc); break;
                            case 5: Tile<T, TVec, TOps, C5>(a, p.ARow, p.AStep, kq, b, c, p.Ldc, cols, acc); break;
                            case 4: Tile<T, TVec, TOps, C4>(a, p.ARow, p.AStep, kq, b, c, p.Ldc, cols, acc); break;
                            case 3: Tile<T, TVec, TOps, C3>(a, p.ARow, p.AStep, kq, b, c, p.Ldc, cols, acc); break;
                            case 2: Tile<T, TVec, TOps, C2>(a, p.ARow, p.AStep, kq, b, c, p.Ldc, cols, acc); break;
                            default: Tile<T, TVec, TOps, C1>(a, p.ARow, p.AStep, kq, b, c, p.Ldc, cols, acc); break;
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// MR x 2 vectors of accumulators over <paramref name="kq"/> steps of one panel, then stored (added to C when
    /// <paramref name="acc"/>); a panel narrower than two vectors (<paramref name="cols"/>) stores only its columns.
    /// </summary>
    private static void Tile<T, TVec, TOps, TMr>(T* a, nint aRow, nint aStep, int kq, T* b, T* c, nint ldc, int cols, bool acc)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
        where TMr : IConst
    {
        int w = TOps.Count;
        int mr = TMr.Value;
        T* a0 = a;
        T* a1 = mr > 1 ? a0 + aRow : a0;
        T* a2 = mr > 2 ? a1 + aRow : a0;
        T* a3 = mr > 3 ? a2 + aRow : a0;
        T* a4 = mr > 4 ? a3 + aRow : a0;
        T* a5 = mr > 5 ? a4 + aRow : a0;
        TVec z = TOps.Zero;
        TVec s00 = z, s01 = z, s10 = z, s11 = z, s20 = z, s21 = z;
        TVec s30 = z, s31 = z, s40 = z, s41 = z, s50 = z, s51 = z;
        nint ai = 0;
        T* pb = b;
        for (int q = 0; q < kq; q++)
        {
            TVec b0 = TOps.Load(pb);
            TVec b1 = TOps.Load(pb + w);
            TVec x = TOps.Splat(a0[ai]);
            s00 = TOps.MulAdd(x, b0, s00);
            s01 = TOps.MulAdd(x, b1, s01);
            if (mr > 1)
            {
                x = TOps.Splat(a1[ai]);
                s10 = TOps.MulAdd(x, b0, s10);
                s11 = TOps.MulAdd(x, b1, s11);
            }
            if (mr > 2)
            {
                x = TOps.Splat(a2[ai]);
                s20 = TOps.MulAdd(x, b0, s20);
                s21 = TOps.MulAdd(x, b1, s21);
            }
            if (mr > 3)
            {
                x = TOps.Splat(a3[ai]);
                s30 = TOps.MulAdd(x, b0, s30);
                s31 = TOps.MulAdd(x, b1, s31);
            }
            if (mr > 4)
            {
                x = TOps.Splat(a4[ai]);
                s40 = TOps.MulAdd(x, b0, s40);
                s41 = TOps.MulAdd(x, b1, s41);
            }
            if (mr > 5)
            {
                x = TOps.Splat(a5[ai]);
                s50 = TOps.MulAdd(x, b0, s50);
                s51 = TOps.MulAdd(x, b1, s51);
            }
            ai += aStep;
            pb += 2 * w;
        }
        if (cols == 2 * w)
        {
            StoreRow<T, TVec, TOps>(c, s00, s01, acc);
            if (mr > 1) StoreRow<T, TVec, TOps>(c + ldc, s10, s11, acc);
            if (mr > 2) StoreRow<T, TVec, TOps>(c + 2 * ldc, s20, s21, acc);
            if (mr > 3) StoreRow<T, TVec, TOps>(c + 3 * ldc, s30, s31, acc);
            if (mr > 4) StoreRow<T, TVec, TOps>(c + 4 * ldc, s40, s41, acc);
            if (mr > 5) StoreRow<T, TVec, TOps>(c + 5 * ldc, s50, s51, acc);
            return;
        }
        StorePartial<T, TVec, TOps>(c, s00, s01, cols, acc);
        if (mr > 1) StorePartial<T, TVec, TOps>(c + ldc, s10, s11, cols, acc);
        if (mr > 2) StorePartial<T, TVec, TOps>(c + 2 * ldc, s20, s21, cols, acc);
        if (mr > 3) StorePartial<T, TVec, TOps>(c + 3 * ldc, s30, s31, cols, acc);
        if (mr > 4) StorePartial<T, TVec, TOps>(c + 4 * ldc, s40, s41, cols, acc);
        if (mr > 5) StorePartial<T, TVec, TOps>(c + 5 * ldc, s50, s51, cols, acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<T, TVec, TOps>(T* c, TVec v0, TVec v1, bool acc)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        GemmCore.Put<T, TVec, TOps>(c, v0, acc);
        GemmCore.Put<T, TVec, TOps>(c + TOps.Count, v1, acc);
    }

    /// <summary>
    /// The first <paramref name="cols"/> lanes of (v0, v1) into c (added when <paramref name="acc"/>): the last panel of
    /// a width that is not a multiple of the panel. Lane by lane, so no column outside the panel is touched (another
    /// thread may own it). The padded lanes (products with the packed zeros) are dropped.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void StorePartial<T, TVec, TOps>(T* c, TVec v0, TVec v1, int cols, bool acc)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        int w = TOps.Count;
        T* lanes = stackalloc T[2 * w];
        TOps.Store(lanes, v0);
        TOps.Store(lanes + w, v1);
        for (int j = 0; j < cols; j++)
            c[j] = acc ? c[j] + lanes[j] : lanes[j];
    }
}
