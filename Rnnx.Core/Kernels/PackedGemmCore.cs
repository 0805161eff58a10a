using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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
/// the 16 AVX2 registers (a 4 x 3 tile needs all 16, leaving the JIT no spare register). 12 independent chains cover the FMA
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

    /// <summary>Panels one row runs across at once in <see cref="RunRows{T, TVec, TOps}"/> (2 accumulators each).</summary>
    private const int RowPanelCount = 6;

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
        // dot-product kernel for n == 1): keep its layout and let it run. Narrow matrices (below 8 vectors, 4 panels)
        // whose last panel would be at most half full (a 20-unit SimpleRNN: 32 columns computed for 20) also
        // run faster unpacked, whose tail vectors overlap instead of padding.
        if (w == 0 || n < 2 * w) return 0;
        return n < 8 * w && n % (2 * w) != 0 && n % (2 * w) <= w ? 0 : 2 * w;
    }

    /// <summary>Number of panels of an n-column op(B) with panels <paramref name="nr"/> wide.</summary>
    internal static int Panels(int n, int nr) => (n + nr - 1) / nr;

    /// <summary>Elements of the packed copy of a k x n op(B): whole zero-padded panels, or k·n when row-major.</summary>
    internal static int PackedLength<T>(int k, int n) where T : unmanaged
    {
        int nr = PanelWidth<T>(n);
        return nr == 0 ? checked(k * n) : checked(Panels(n, nr) * nr * k);
    }

    /// <summary>
    /// Packs op(B) (k x n; B stored [n x k] when <paramref name="transB"/>, else [k x n], row stride ldb) into
    /// <see cref="PackedLength{T}"/> elements at <paramref name="packed"/>: panel j holds columns [j·2W, j·2W + 2W) as a
    /// contiguous k x 2W block, the columns past n zero; when <see cref="PanelWidth{T}"/> is 0, the plain row-major k x n matrix.
    /// </summary>
    internal static void Pack<T>(bool transB, int k, int n, T* b, nint ldb, T* packed) where T : unmanaged
    {
        int nr = PanelWidth<T>(n);
        if (nr == 0)
        {
            if (transB)
                MatMulKernels.PackTransposed(b, ldb, n, k, packed, n);
            else
                for (int p = 0; p < k; p++)
                    new ReadOnlySpan<T>(b + p * ldb, n).CopyTo(new Span<T>(packed + (nint)p * n, n));
            return;
        }
        int panels = Panels(n, nr), full = n / nr, rest = n - full * nr;
        nint panelSize = (nint)k * nr;
        if (!transB)
        {
            // row by row (B is read sequentially), one panel row of two vectors at a time
            for (int p = 0; p < k; p++)
            {
                T* src = b + p * ldb;
                T* dst = packed + (nint)p * nr;
                for (int j = 0; j < full; j++)
                    CopyPanelRow(src + j * nr, dst + j * panelSize, nr);
                if (rest > 0)
                {
                    T* last = dst + full * panelSize;
                    new ReadOnlySpan<T>(src + full * nr, rest).CopyTo(new Span<T>(last, rest));
                    new Span<T>(last + rest, nr - rest).Clear();
                }
            }
            return;
        }
        for (int j = 0; j < panels; j++)
        {
            int cols = Math.Min(nr, n - j * nr);
            T* dst = packed + j * panelSize;
            MatMulKernels.PackTransposed(b + j * nr * ldb, ldb, cols, k, dst, nr);
            if (cols < nr)
                for (int p = 0; p < k; p++)
                    new Span<T>(dst + (nint)p * nr + cols, nr - cols).Clear();
        }
    }

    /// <summary>Copies one panel row (<paramref name="nr"/> elements: two vectors) with vector moves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyPanelRow<T>(T* src, T* dst, int nr) where T : unmanaged
    {
        int bytes = nr * sizeof(T);
        if (bytes == 64 && Vector256.IsHardwareAccelerated)
        {
            Vector256.Store(Vector256.Load((byte*)src), (byte*)dst);
            Vector256.Store(Vector256.Load((byte*)src + 32), (byte*)dst + 32);
        }
        else if (bytes == 32 && Vector128.IsHardwareAccelerated)
        {
            Vector128.Store(Vector128.Load((byte*)src), (byte*)dst);
            Vector128.Store(Vector128.Load((byte*)src + 16), (byte*)dst + 16);
        }
        else
        {
            Buffer.MemoryCopy(src, dst, bytes, bytes);
        }
    }

    /// <summary>Number of row tiles for <paramref name="m"/> rows.</summary>
    internal static int Tiles(int m) => (m + MaxRows - 1) / MaxRows;

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
        if (m <= 2)
        {
            RunRows<T, TVec, TOps>(p);
            return;
        }
        byte* partialBytes = stackalloc byte[MaxRows * nr * sizeof(T) + 64];
        T* partial = AlignedArrays.CacheLine<T>(partialBytes);
        int tiles = Tiles(m);
        int height = m / tiles, taller = m % tiles;
        // row blocks of at most BlockBytes of A (a short reduction, k = 64, fits four times the rows of a full k block),
        // all of nearly the same size: a last block of one or two tiles would read the whole k block of B from L3 for a
        // handful of rows (256 rows, k >= 256: 15 + 14 + 14 tiles, not 21 + 21 + 1)
        int kc = Math.Min(GemmCore.KBlock, p.K);
        int maxTilesPerBlock = Math.Max(1, BlockBytes / (kc * sizeof(T)) / MaxRows);
        int blocks = (tiles + maxTilesPerBlock - 1) / maxTilesPerBlock;
        int tilesPerBlock = (tiles + blocks - 1) / blocks;
        nint panelSize = (nint)p.K * nr;
        // A stored transposed: a tile's rows are adjacent but its k steps are a whole row of A^T apart, one new cache
        // line per step. Such a row block is copied once into tile-major panels (k x rows, contiguous) and reused by
        // every panel of B.
        bool packA = p.ARow == 1 && p.AStep != 1;
        Span<T> aBuffer = packA ? APanels<T>.Get(tilesPerBlock * MaxRows * kc) : default;
        fixed (T* aPanels = aBuffer)
        for (int q0 = 0; q0 < p.K; q0 += GemmCore.KBlock)
        {
            int kq = Math.Min(GemmCore.KBlock, p.K - q0);
            bool acc = p.Accumulate || q0 > 0;
            T* aBlock = p.A + q0 * p.AStep;
            for (int t0 = 0; t0 < tiles; t0 += tilesPerBlock)
            {
                int t1 = Math.Min(tiles, t0 + tilesPerBlock);
                if (packA)
                    PackRows(aBlock + p.RowStart + t0 * height + Math.Min(t0, taller), p.AStep, kq, t0, t1, height, taller, aPanels);
                for (int j = p.PanelStart; j < p.PanelEnd; j++)
                {
                    T* b = p.B + j * panelSize + (nint)q0 * nr;
                    int col = j * nr;
                    int cols = Math.Min(nr, p.N - col);
                    for (int t = t0; t < t1; t++)
                    {
                        // heights differ by at most one: the first `taller` tiles have one row more
                        int r0 = p.RowStart + t * height + Math.Min(t, taller);
                        int rows = t < taller ? height + 1 : height;
                        T* a = packA ? aPanels + (nint)(t - t0) * MaxRows * kq : aBlock + r0 * p.ARow;
                        nint aStep = packA ? rows : p.AStep;
                        T* c = p.C + r0 * p.Ldc + col;
                        // the next tile's C lines are requested now, so that they arrive while this tile runs (a
                        // sequence op's gate block is a slice of a sequence far larger than the caches)
                        if (t + 1 < t1)
                            PrefetchRows(c + rows * p.Ldc, p.Ldc, t + 1 < taller ? height + 1 : height, nr);
                        else if (j + 1 < p.PanelEnd)
                            PrefetchRows(p.C + (p.RowStart + t0 * height + Math.Min(t0, taller)) * p.Ldc + col + nr, p.Ldc, t0 < taller ? height + 1 : height, nr);
                        // a partial panel goes through the stack tile, so that the kernel itself never stores
                        // lane by lane (a call there makes the JIT spill the accumulators inside the k loop)
                        bool full = cols == nr;
                        T* dst = full ? c : partial;
                        nint ldd = full ? p.Ldc : nr;
                        bool accDst = full && acc;
                        TileOf<T, TVec, TOps>(rows, a, p.ARow, aStep, kq, b, dst, ldd, accDst);
                        if (!full)
                            Merge(partial, nr, c, p.Ldc, rows, cols, acc);
                    }
                }
            }
        }
    }

    /// <summary>
    /// Requests the cache lines of <paramref name="rows"/> rows of one panel of C (<paramref name="nr"/> elements from
    /// <paramref name="c"/>, row stride <paramref name="ldc"/>; two lines when the panel row straddles a line boundary).
    /// A hint only: it never faults, so it may name memory past the matrix.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchRows<T>(T* c, nint ldc, int rows, int nr) where T : unmanaged
    {
        if (!Sse.IsSupported)
            return;
        for (int i = 0; i < rows; i++, c += ldc)
        {
            Sse.Prefetch0(c);
            Sse.Prefetch0(c + nr - 1);
        }
    }

    /// <summary>
    /// Copies tiles [t0, t1) of a transposed A (row i, step q at a[q·aStep + i], a = the first row of tile t0) into
    /// panels of MaxRows·kq elements, tile t's k x rows block at (t - t0)·MaxRows·kq, so that the micro-kernel reads
    /// each tile's A sequentially (row stride 1, step = its height).
    /// </summary>
    private static void PackRows<T>(T* a, nint aStep, int kq, int t0, int t1, int height, int taller, T* panels) where T : unmanaged
    {
        // a tile's rows (at most 6) are copied as one 8-element move where that stays inside the block's source row
        // and inside the tile's panel: the elements written past the tile's rows land in the next steps' slots of
        // the same panel, which are written afterwards (steps in increasing order)
        const int Chunk = 8;
        bool vector = Vector256.IsHardwareAccelerated && Chunk * sizeof(T) % Vector256<byte>.Count == 0;
        int blockRows = 0;
        for (int t = t0; t < t1; t++)
            blockRows += t < taller ? height + 1 : height;
        for (int q = 0; q < kq; q++)
        {
            T* src = a + q * aStep;
            int offset = 0;
            for (int t = t0; t < t1; t++)
            {
                int rows = t < taller ? height + 1 : height;
                T* dst = panels + (nint)(t - t0) * MaxRows * kq + (nint)q * rows;
                if (vector && offset + Chunk <= blockRows && q * rows + Chunk <= kq * rows)
                {
                    for (int v = 0; v < Chunk * sizeof(T); v += Vector256<byte>.Count)
                        Vector256.Store(Vector256.Load((byte*)src + v), (byte*)dst + v);
                }
                else
                {
                    for (int i = 0; i < rows; i++)
                        dst[i] = src[i];
                }
                src += rows;
                offset += rows;
            }
        }
    }

    /// <summary>Per-thread buffer for <see cref="PackRows{T}"/> (separate from <see cref="KernelScratch{T}"/>, which holds B's panels).</summary>
    private static class APanels<T> where T : unmanaged
    {
        [ThreadStatic]
        private static T[]? t_buffer;

        public static Span<T> Get(int length) => AlignedArrays.Grow(ref t_buffer, length);
    }

    /// <summary>
    /// One or two rows (one series, or a tiny batch): a 1 x 2 tile would keep only two FMA chains in flight, so each row
    /// runs across up to six panels at once (12 accumulators), every panel still summed in increasing k per block.
    /// </summary>
    private static void RunRows<T, TVec, TOps>(in PackedPlan<T> p)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        int nr = 2 * TOps.Count;
        nint panelSize = (nint)p.K * nr;
        byte* partialBytes = stackalloc byte[nr * sizeof(T) + 64];
        T* partial = AlignedArrays.CacheLine<T>(partialBytes);
        for (int q0 = 0; q0 < p.K; q0 += GemmCore.KBlock)
        {
            int kq = Math.Min(GemmCore.KBlock, p.K - q0);
            bool acc = p.Accumulate || q0 > 0;
            for (int r = p.RowStart; r < p.RowEnd; r++)
            {
                T* a = p.A + r * p.ARow + q0 * p.AStep;
                for (int j = p.PanelStart; j < p.PanelEnd; j += RowPanelCount)
                {
                    T* b = p.B + j * panelSize + (nint)q0 * nr;
                    T* c = p.C + r * p.Ldc + j * nr;
                    int np = Math.Min(RowPanelCount, p.PanelEnd - j);
                    T* cLast = c + (np - 1) * nr;
                    int lastCols = Math.Min(nr, p.N - (j + np - 1) * nr);
                    bool full = lastCols == nr;
                    T* dLast = full ? cLast : partial;
                    bool accLast = full && acc;
                    switch (np)
                    {
                        case 6: RowPanels<T, TVec, TOps, C6>(a, p.AStep, kq, b, panelSize, c, acc, dLast, accLast); break;
                        case 5: RowPanels<T, TVec, TOps, C5>(a, p.AStep, kq, b, panelSize, c, acc, dLast, accLast); break;
                        case 4: RowPanels<T, TVec, TOps, C4>(a, p.AStep, kq, b, panelSize, c, acc, dLast, accLast); break;
                        case 3: RowPanels<T, TVec, TOps, C3>(a, p.AStep, kq, b, panelSize, c, acc, dLast, accLast); break;
                        case 2: RowPanels<T, TVec, TOps, C2>(a, p.AStep, kq, b, panelSize, c, acc, dLast, accLast); break;
                        default: RowPanels<T, TVec, TOps, C1>(a, p.AStep, kq, b, panelSize, c, acc, dLast, accLast); break;
                    }
                    if (!full)
                        Merge(partial, nr, cLast, p.Ldc, 1, lastCols, acc);
                }
            }
        }
    }

    /// <summary>
    /// One row x TP panels (2·TP accumulators) over <paramref name="kq"/> steps, stored at c + i·2W (added when
    /// <paramref name="acc"/>), except the last panel, stored at <paramref name="cLast"/> (added when
    /// <paramref name="accLast"/>; the stack tile when it is the matrix's partial last panel).
    /// </summary>
    private static void RowPanels<T, TVec, TOps, TP>(T* a, nint aStep, int kq, T* b, nint panelSize, T* c, bool acc, T* cLast, bool accLast)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
        where TP : IConst
    {
        int w = TOps.Count, nr = 2 * w;
        int np = TP.Value;
        T* b1 = np > 1 ? b + panelSize : b;
        T* b2 = np > 2 ? b1 + panelSize : b;
        T* b3 = np > 3 ? b2 + panelSize : b;
        T* b4 = np > 4 ? b3 + panelSize : b;
        T* b5 = np > 5 ? b4 + panelSize : b;
        TVec z = TOps.Zero;
        TVec s00 = z, s01 = z, s10 = z, s11 = z, s20 = z, s21 = z;
        TVec s30 = z, s31 = z, s40 = z, s41 = z, s50 = z, s51 = z;
        nint ai = 0, pb = 0;
        for (int q = 0; q < kq; q++)
        {
            TVec x = TOps.Splat(a[ai]);
            s00 = TOps.MulAdd(x, TOps.Load(b + pb), s00);
            s01 = TOps.MulAdd(x, TOps.Load(b + pb + w), s01);
            if (np > 1)
            {
                s10 = TOps.MulAdd(x, TOps.Load(b1 + pb), s10);
                s11 = TOps.MulAdd(x, TOps.Load(b1 + pb + w), s11);
            }
            if (np > 2)
            {
                s20 = TOps.MulAdd(x, TOps.Load(b2 + pb), s20);
                s21 = TOps.MulAdd(x, TOps.Load(b2 + pb + w), s21);
            }
            if (np > 3)
            {
                s30 = TOps.MulAdd(x, TOps.Load(b3 + pb), s30);
                s31 = TOps.MulAdd(x, TOps.Load(b3 + pb + w), s31);
            }
            if (np > 4)
            {
                s40 = TOps.MulAdd(x, TOps.Load(b4 + pb), s40);
                s41 = TOps.MulAdd(x, TOps.Load(b4 + pb + w), s41);
            }
            if (np > 5)
            {
                s50 = TOps.MulAdd(x, TOps.Load(b5 + pb), s50);
                s51 = TOps.MulAdd(x, TOps.Load(b5 + pb + w), s51);
            }
            ai += aStep;
            pb += nr;
        }
        if (np == 1) { StoreRow<T, TVec, TOps>(cLast, s00, s01, accLast); return; }
        StoreRow<T, TVec, TOps>(c, s00, s01, acc);
        if (np == 2) { StoreRow<T, TVec, TOps>(cLast, s10, s11, accLast); return; }
        StoreRow<T, TVec, TOps>(c + nr, s10, s11, acc);
        if (np == 3) { StoreRow<T, TVec, TOps>(cLast, s20, s21, accLast); return; }
        StoreRow<T, TVec, TOps>(c + 2 * nr, s20, s21, acc);
        if (np == 4) { StoreRow<T, TVec, TOps>(cLast, s30, s31, accLast); return; }
        StoreRow<T, TVec, TOps>(c + 3 * nr, s30, s31, acc);
        if (np == 5) { StoreRow<T, TVec, TOps>(cLast, s40, s41, accLast); return; }
        StoreRow<T, TVec, TOps>(c + 4 * nr, s40, s41, acc);
        StoreRow<T, TVec, TOps>(cLast, s50, s51, accLast);
    }

    /// <summary>The micro-tile of <paramref name="rows"/> (1..6) rows: <see cref="Tile{T, TVec, TOps, TMr}"/> for that height.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void TileOf<T, TVec, TOps>(int rows, T* a, nint aRow, nint aStep, int kq, T* b, T* c, nint ldc, bool acc)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        switch (rows)
        {
            case 6: Tile<T, TVec, TOps, C6>(a, aRow, aStep, kq, b, c, ldc, acc); break;
            case 5: Tile<T, TVec, TOps, C5>(a, aRow, aStep, kq, b, c, ldc, acc); break;
            case 4: Tile<T, TVec, TOps, C4>(a, aRow, aStep, kq, b, c, ldc, acc); break;
            case 3: Tile<T, TVec, TOps, C3>(a, aRow, aStep, kq, b, c, ldc, acc); break;
            case 2: Tile<T, TVec, TOps, C2>(a, aRow, aStep, kq, b, c, ldc, acc); break;
            default: Tile<T, TVec, TOps, C1>(a, aRow, aStep, kq, b, c, ldc, acc); break;
        }
    }

    /// <summary>
    /// MR x 2 vectors of accumulators over <paramref name="kq"/> steps of one panel, then stored as full vectors
    /// (added to C when <paramref name="acc"/>). No calls: every accumulator stays in a register.
    /// </summary>
    private static void Tile<T, TVec, TOps, TMr>(T* a, nint aRow, nint aStep, int kq, T* b, T* c, nint ldc, bool acc)
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
        StoreRow<T, TVec, TOps>(c, s00, s01, acc);
        if (mr > 1) StoreRow<T, TVec, TOps>(c + ldc, s10, s11, acc);
        if (mr > 2) StoreRow<T, TVec, TOps>(c + 2 * ldc, s20, s21, acc);
        if (mr > 3) StoreRow<T, TVec, TOps>(c + 3 * ldc, s30, s31, acc);
        if (mr > 4) StoreRow<T, TVec, TOps>(c + 4 * ldc, s40, s41, acc);
        if (mr > 5) StoreRow<T, TVec, TOps>(c + 5 * ldc, s50, s51, acc);
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
    /// Adds (or copies, when not <paramref name="acc"/>) the first <paramref name="cols"/> columns of
    /// <paramref name="rows"/> rows of the stack tile into C: the matrix's partial last panel. Element by element, so
    /// no column outside the panel is touched (another thread may own it); the padded columns (products with the
    /// packed zeros) are dropped. The same one addition per element as a vector store of the full panel.
    /// </summary>
    internal static void Merge<T>(T* tile, nint ldt, T* c, nint ldc, int rows, int cols, bool acc)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int r = 0; r < rows; r++, tile += ldt, c += ldc)
            for (int j = 0; j < cols; j++)
                c[j] = acc ? c[j] + tile[j] : tile[j];
    }
}
