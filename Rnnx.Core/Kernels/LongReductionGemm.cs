using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

using Rnnx.Simd;

namespace Rnnx.Kernels;

/// <summary>
/// A <see cref="GemmPlan{T}"/> with a long reduction and a small C (the convolution weight gradient: C = X^T·dY over
/// batch x rows), computed with exactly <see cref="GemmCore"/>'s arithmetic but with its operands in L1.
/// <para>
/// The unpacked engine keeps each register tile's accumulators over the whole reduction, so every tile streams its
/// A and B rows from L2: about two cache lines per 8 FMAs, which caps it at 40-55 % of the FMA peak. Here the
/// reduction is cut into chunks of <see cref="ChunkSteps"/> steps. Per chunk, A is packed in blocks of
/// <see cref="BlockRows"/> rows (each step's 16 values one cache line, consecutive steps consecutive lines) and B in
/// panels 2 vectors wide (each step's columns contiguous), both read once, in order, with the rows a few steps ahead
/// prefetched; then each block's rows run as tiles of up to 6 rows x 2 vectors (12 accumulators, as in
/// <see cref="PackedGemmCore"/>; 16 = 6 + 5 + 5) over the chunk, panel by panel, from L1. A tile's accumulators are
/// carried from one chunk to the next through a scratch copy of C, stored and reloaded exactly, so the chunks add no
/// rounding.
/// </para>
/// <para>
/// Arithmetic (the same bits as <see cref="GemmCore.Run{T}"/> on the same plan): the reduction loop is normalised by
/// <see cref="GemmCore.Normalize"/> and cut into the engine's k blocks (<see cref="GemmCore.KBlock"/> inner steps when the
/// outer level has one step, else one block); per block each element sums its products in increasing k order in one
/// accumulator starting at zero, with the same <c>MulAdd</c> (fused when the hardware has FMA), then adds the previous C
/// once (when accumulating, or after the first block).
/// </para>
/// </summary>
internal static unsafe class LongReductionGemm
{
    /// <summary>
    /// Reduction steps per chunk: a B panel chunk and a packed A block (16 KiB each for float on 256-bit vectors) stay in
    /// L1 while the block's tiles run (measured faster than 128 steps at the WaveNet shapes). Chunks restart at every k
    /// block, so none spans two.
    /// </summary>
    internal const int ChunkSteps = 256;

    /// <summary>Steps ahead whose A and B rows the packing loops prefetch.</summary>
    private const int PrefetchSteps = 8;

    /// <summary>Rows per packed block of A: 16 floats are one cache line per reduction step.</summary>
    internal const int BlockRows = 16;

    /// <summary>Rows per register tile (12 accumulators of the 16 AVX2 registers, 2 B vectors and the broadcast).</summary>
    internal const int TileRows = 6;

    /// <summary>
    /// Whether <see cref="Run{T}"/> takes the plan: a vector width is accelerated, N is a whole number of 2-vector
    /// panels, the problem is not empty, and the accumulators (M x N, a per-thread scratch that stays allocated) are at
    /// most <see cref="MaxAccumulators"/>. Anything else runs on <see cref="GemmCore"/> (the same bits).
    /// </summary>
    public static bool Supports<T>(in GemmPlan<T> p) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int w = Width<T>();
        return w > 0 && p.M > 0 && p.N >= 2 * w && p.N % (2 * w) == 0 && p.K.Outer > 0 && p.K.Inner > 0
            && (long)p.M * p.N <= MaxAccumulators;
    }

    /// <summary>
    /// The largest M x N taken: a 128-channel, 2-tap convolution's weight gradient (256 x 128, measured faster than
    /// <see cref="GemmCore"/>); wider shapes are not measured, and their accumulators and chunks would outgrow L2.
    /// </summary>
    public const int MaxAccumulators = 256 * 128;

    /// <summary>Runs a plan that <see cref="Supports{T}"/> accepts.</summary>
    public static void Run<T>(in GemmPlan<T> p) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (Vector256.IsHardwareAccelerated)
            Run<T, Vector256<T>, Simd256<T>>(p);
        else
            Run<T, Vector128<T>, Simd128<T>>(p);
    }

    /// <summary>
    /// Runs a plan that <see cref="Supports{T}"/> accepts, split over the current team (<see cref="TeamBoard"/>) when it is
    /// large enough: into column blocks of whole 2-vector panels, each part packing its own copy of A on its own thread's
    /// scratch. Columns are independent outputs, so every element gets the arithmetic of the unsplit run.
    /// </summary>
    public static void RunParallel<T>(in GemmPlan<T> p) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int nr = 2 * Width<T>();
        int parts = Math.Min(TeamBoard.CurrentSize, p.N / nr);
        if (parts <= 1 || (long)p.M * p.N * p.K.Outer * p.K.Inner < ParallelGemm.MinWork)
        {
            Run(p);
            return;
        }
        var job = Job<T>.ForThread();
        job.Plan = p;
        job.Parts = parts;
        job.PanelWidth = nr;
        TeamBoard.For(parts, job);
        job.Plan = default;
    }

    private sealed class Job<T> : TeamJob where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        [ThreadStatic]
        private static Job<T>? t_job;

        public GemmPlan<T> Plan;
        public int Parts, PanelWidth;

        public static Job<T> ForThread() => t_job ??= new Job<T>();

        public override void Run(int part)
        {
            var (p0, p1) = ParallelGemm.Block(Plan.N / PanelWidth, Parts, part, 1);
            var q = Plan;
            q.N = (p1 - p0) * PanelWidth;
            q.B += p0 * PanelWidth;
            q.C += p0 * PanelWidth;
            LongReductionGemm.Run(q);
        }
    }

    /// <summary>Vector width used (elements), or 0 when no vector width is accelerated.</summary>
    private static int Width<T>() where T : unmanaged =>
        Vector256.IsHardwareAccelerated ? Vector256<T>.Count : Vector128.IsHardwareAccelerated ? Vector128<T>.Count : 0;

    /// <summary>Elements of the per-thread scratch a plan of <paramref name="m"/> x <paramref name="n"/> needs.</summary>
    private static int ScratchLength(int m, int n) =>
        checked(m * n + (m + BlockRows - 1) / BlockRows * BlockRows * ChunkSteps + ChunkSteps * n);

    private static void Run<T, TVec, TOps>(in GemmPlan<T> p)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        int w = TOps.Count, nr = 2 * w;
        int m = p.M, n = p.N;
        KLoop k = GemmCore.Normalize(p.K);
        int block = k.Outer == 1 ? GemmCore.KBlock : k.Inner;
        // Held across the chunks: nothing called below may take this thread's KernelScratch.
        Span<T> scratch = KernelScratch<T>.Get(ScratchLength(m, n));
        int blocks = (m + BlockRows - 1) / BlockRows;
        nint* aOff = stackalloc nint[ChunkSteps];
        nint* bOff = stackalloc nint[ChunkSteps];
        nint[] rowOffsets = RowOffsets(p);
        // a block whose rows are adjacent in memory (16 channels of one tap) is packed with vector copies
        bool* adjacent = stackalloc bool[blocks];
        for (int kb = 0; kb < blocks; kb++)
        {
            int r0 = kb * BlockRows;
            bool run = r0 + BlockRows <= m;
            for (int i = 1; run && i < BlockRows; i++)
                run = rowOffsets[r0 + i] == rowOffsets[r0] + i;
            adjacent[kb] = run;
        }
        fixed (T* ps = scratch)
        fixed (nint* rowOff = rowOffsets)
        {
            T* acc = ps;                       // m x n: the accumulators carried between chunks
            T* packedA = ps + (nint)m * n;     // block kb at kb * BlockRows * ChunkSteps: step s holds its rows
            T* packedB = packedA + (nint)blocks * BlockRows * ChunkSteps; // panel at j * ChunkSteps: step s holds its nr columns
            for (int q0 = 0; q0 < k.Inner; q0 += block)
            {
                int kq = Math.Min(block, k.Inner - q0);
                long steps = (long)k.Outer * kq;
                bool accC = p.Accumulate || q0 > 0;
                int o = 0, q = 0;
                for (long s0 = 0; s0 < steps; s0 += ChunkSteps)
                {
                    int cs = (int)Math.Min(ChunkSteps, steps - s0);
                    bool first = s0 == 0, last = s0 + cs == steps;
                    // the chunk's steps in the engine's order: outer o, then inner q within the block
                    for (int s = 0; s < cs; s++)
                    {
                        aOff[s] = o * k.AOuter + (q0 + q) * k.AInner;
                        bOff[s] = o * k.BOuter + (q0 + q) * k.BInner;
                        if (++q == kq)
                        {
                            q = 0;
                            o++;
                        }
                    }
                    PackA(p.A, rowOff, adjacent, m, aOff, cs, packedA);
                    PackB<T, TVec, TOps>(p.B, bOff, cs, n, packedB);
                    for (int j = 0; j < n; j += nr)
                    {
                        T* panelB = packedB + (nint)j * ChunkSteps;
                        for (int kb = 0; kb < blocks; kb++)
                        {
                            // the block's rows in ceil(rows / 6) tiles of nearly equal height (16 = 6 + 5 + 5)
                            int r0 = kb * BlockRows, rows = Math.Min(BlockRows, m - r0);
                            int tiles = (rows + TileRows - 1) / TileRows;
                            T* a = packedA + (nint)r0 * ChunkSteps;
                            for (int t = 0, i0 = 0; t < tiles; t++)
                            {
                                int mr = rows / tiles + (t < rows % tiles ? 1 : 0);
                                var dst = new TileTarget<T>(p, acc, r0 + i0, j, first, last, accC);
                                switch (mr)
                                {
                                    case 6: Tile<T, TVec, TOps, C6>(a + i0, panelB, cs, dst); break;
                                    case 5: Tile<T, TVec, TOps, C5>(a + i0, panelB, cs, dst); break;
                                    case 4: Tile<T, TVec, TOps, C4>(a + i0, panelB, cs, dst); break;
                                    case 3: Tile<T, TVec, TOps, C3>(a + i0, panelB, cs, dst); break;
                                    case 2: Tile<T, TVec, TOps, C2>(a + i0, panelB, cs, dst); break;
                                    default: Tile<T, TVec, TOps, C1>(a + i0, panelB, cs, dst); break;
                                }
                                i0 += mr;
                            }
                        }
                    }
                }
            }
        }
    }

    [ThreadStatic]
    private static nint[]? t_rowOffsets;

    /// <summary>The offset of each row of A from the plan's A pointer, in a per-thread buffer of at least M entries.</summary>
    private static nint[] RowOffsets<T>(in GemmPlan<T> p) where T : unmanaged
    {
        nint[] off = t_rowOffsets is { } b && b.Length >= p.M ? b : t_rowOffsets = new nint[Math.Max(p.M, 256)];
        for (int r = 0; r < p.M; r++)
            off[r] = r / p.RowsPerGroup * p.AGroup + r % p.RowsPerGroup * p.ARow;
        return off;
    }

    /// <summary>
    /// Packs the chunk's A values in blocks of <see cref="BlockRows"/> rows: block kb (rows r0 = 16·kb ..) at
    /// dst + r0 * <see cref="ChunkSteps"/>, step s's values of its rows contiguous at s * 16 (one cache line of floats),
    /// so a tile reads consecutive lines. Step by step, so each step's input row is read once, in order; a block whose
    /// rows are adjacent in memory (<paramref name="adjacent"/>) is one 16-element copy.
    /// </summary>
    private static void PackA<T>(T* a, nint* rowOff, bool* adjacent, int m, nint* aOff, int steps, T* dst) where T : unmanaged
    {
        int line = 64 / sizeof(T);
        for (int s = 0; s < steps; s++)
        {
            T* src = a + aOff[s];
            if (s + PrefetchSteps < steps && Sse.IsSupported)
            {
                T* ahead = a + aOff[s + PrefetchSteps];
                for (int r = 0; r < m; r += line)
                    Sse.Prefetch0(ahead + rowOff[r]);
            }
            T* d = dst + s * BlockRows;
            for (int r0 = 0; r0 < m; r0 += BlockRows, d += BlockRows * ChunkSteps)
            {
                if (adjacent[r0 / BlockRows])
                {
                    CopyBlockRow((byte*)(src + rowOff[r0]), (byte*)d, BlockRows * sizeof(T));
                    continue;
                }
                int rows = Math.Min(BlockRows, m - r0);
                for (int i = 0; i < rows; i++)
                    d[i] = src[rowOff[r0 + i]];
            }
        }
    }

    /// <summary>Copies one block row (16 floats or 16 doubles: a multiple of 16 bytes) with vector moves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyBlockRow(byte* src, byte* dst, int bytes)
    {
        for (int i = 0; i < bytes; i += 16)
            Vector128.Store(Vector128.Load(src + i), dst + i);
    }

    /// <summary>
    /// Packs the chunk's B rows panel by panel: panel p (columns 2W·p ..) at dst + p * <see cref="ChunkSteps"/> * 2W, step
    /// s's 2 vectors at s * 2W. Step by step, so each B row is read once, in order.
    /// </summary>
    private static void PackB<T, TVec, TOps>(T* b, nint* bOff, int steps, int n, T* dst)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        int w = TOps.Count, line = 64 / sizeof(T);
        nint panel = (nint)ChunkSteps * 2 * w;
        for (int s = 0; s < steps; s++)
        {
            T* src = b + bOff[s];
            if (s + PrefetchSteps < steps && Sse.IsSupported)
            {
                T* ahead = b + bOff[s + PrefetchSteps];
                for (int j = 0; j < n; j += line)
                    Sse.Prefetch0(ahead + j);
            }
            T* d = dst + s * 2 * w;
            for (int j = 0; j < n; j += 2 * w, d += panel)
            {
                TOps.Store(d, TOps.Load(src + j));
                TOps.Store(d + w, TOps.Load(src + j + w));
            }
        }
    }

    /// <summary>Where one tile's accumulators come from and go to in one chunk.</summary>
    private readonly struct TileTarget<T> where T : unmanaged
    {
        public readonly T* C;
        public readonly nint CRow, CGroup;
        public readonly int RowsPerGroup, N;
        public readonly T* Acc;
        public readonly int Row, Column;
        public readonly bool First, Last, AccumulateC;

        public TileTarget(in GemmPlan<T> plan, T* acc, int row, int column, bool first, bool last, bool accumulateC)
        {
            C = plan.C;
            CRow = plan.CRow;
            CGroup = plan.CGroup;
            RowsPerGroup = plan.RowsPerGroup;
            N = plan.N;
            Acc = acc + (nint)row * plan.N + column;
            Row = row;
            Column = column;
            First = first;
            Last = last;
            AccumulateC = accumulateC;
        }

        /// <summary>Row r of C in the plan's (group, row) addressing.</summary>
        public T* RowC(int r) => C + r / RowsPerGroup * CGroup + r % RowsPerGroup * CRow;
    }

    /// <summary>
    /// MR rows x 2 vectors: the accumulators start at zero (first chunk of a block) or at their stored values, take the
    /// chunk's products in step order, and are stored back, or on the block's last chunk added to C (or stored to C).
    /// </summary>
    private static void Tile<T, TVec, TOps, TMr>(T* a, T* b, int steps, in TileTarget<T> dst)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
        where TMr : IConst
    {
        int w = TOps.Count, mr = TMr.Value;
        nint ld = dst.N;
        T* acc = dst.Acc;
        TVec z = TOps.Zero;
        TVec s00 = z, s01 = z, s10 = z, s11 = z, s20 = z, s21 = z;
        TVec s30 = z, s31 = z, s40 = z, s41 = z, s50 = z, s51 = z;
        if (!dst.First)
        {
            s00 = TOps.Load(acc); s01 = TOps.Load(acc + w);
            if (mr > 1) { s10 = TOps.Load(acc + ld); s11 = TOps.Load(acc + ld + w); }
            if (mr > 2) { s20 = TOps.Load(acc + 2 * ld); s21 = TOps.Load(acc + 2 * ld + w); }
            if (mr > 3) { s30 = TOps.Load(acc + 3 * ld); s31 = TOps.Load(acc + 3 * ld + w); }
            if (mr > 4) { s40 = TOps.Load(acc + 4 * ld); s41 = TOps.Load(acc + 4 * ld + w); }
            if (mr > 5) { s50 = TOps.Load(acc + 5 * ld); s51 = TOps.Load(acc + 5 * ld + w); }
        }
        for (int s = 0; s < steps; s++)
        {
            TVec b0 = TOps.Load(b);
            TVec b1 = TOps.Load(b + w);
            TVec x = TOps.Splat(a[0]);
            s00 = TOps.MulAdd(x, b0, s00);
            s01 = TOps.MulAdd(x, b1, s01);
            if (mr > 1)
            {
                x = TOps.Splat(a[1]);
                s10 = TOps.MulAdd(x, b0, s10);
                s11 = TOps.MulAdd(x, b1, s11);
            }
            if (mr > 2)
            {
                x = TOps.Splat(a[2]);
                s20 = TOps.MulAdd(x, b0, s20);
                s21 = TOps.MulAdd(x, b1, s21);
            }
            if (mr > 3)
            {
                x = TOps.Splat(a[3]);
                s30 = TOps.MulAdd(x, b0, s30);
                s31 = TOps.MulAdd(x, b1, s31);
            }
            if (mr > 4)
            {
                x = TOps.Splat(a[4]);
                s40 = TOps.MulAdd(x, b0, s40);
                s41 = TOps.MulAdd(x, b1, s41);
            }
            if (mr > 5)
            {
                x = TOps.Splat(a[5]);
                s50 = TOps.MulAdd(x, b0, s50);
                s51 = TOps.MulAdd(x, b1, s51);
            }
            a += BlockRows;
            b += 2 * w;
        }
        if (!dst.Last)
        {
            TOps.Store(acc, s00); TOps.Store(acc + w, s01);
            if (mr > 1) { TOps.Store(acc + ld, s10); TOps.Store(acc + ld + w, s11); }
            if (mr > 2) { TOps.Store(acc + 2 * ld, s20); TOps.Store(acc + 2 * ld + w, s21); }
            if (mr > 3) { TOps.Store(acc + 3 * ld, s30); TOps.Store(acc + 3 * ld + w, s31); }
            if (mr > 4) { TOps.Store(acc + 4 * ld, s40); TOps.Store(acc + 4 * ld + w, s41); }
            if (mr > 5) { TOps.Store(acc + 5 * ld, s50); TOps.Store(acc + 5 * ld + w, s51); }
            return;
        }
        StoreC<T, TVec, TOps>(dst, 0, s00, s01);
        if (mr > 1) StoreC<T, TVec, TOps>(dst, 1, s10, s11);
        if (mr > 2) StoreC<T, TVec, TOps>(dst, 2, s20, s21);
        if (mr > 3) StoreC<T, TVec, TOps>(dst, 3, s30, s31);
        if (mr > 4) StoreC<T, TVec, TOps>(dst, 4, s40, s41);
        if (mr > 5) StoreC<T, TVec, TOps>(dst, 5, s50, s51);
    }

    /// <summary>C row (tile row i) at the tile's columns (+)= the block's sums, as <see cref="GemmCore.Put{T, TVec, TOps}"/> does.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreC<T, TVec, TOps>(in TileTarget<T> dst, int i, TVec v0, TVec v1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        T* c = dst.RowC(dst.Row + i) + dst.Column;
        GemmCore.Put<T, TVec, TOps>(c, v0, dst.AccumulateC);
        GemmCore.Put<T, TVec, TOps>(c + TOps.Count, v1, dst.AccumulateC);
    }
}
