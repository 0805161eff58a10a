using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

using Rnnx.Simd;

namespace Rnnx.Kernels;

/// <summary>
/// A <see cref="GemmPlan{T}"/> with a long reduction and a small C (the convolution weight gradient: C = X^T·dY over
/// batch x rows), computed with exactly <see cref="GemmCore"/>'s arithmetic but with its operands in L1.
/// <para>
/// The unpacked engine keeps each register tile's accumulators over the whole reduction, so every tile streams its
/// A and B rows from L2: about two cache lines per 8 FMAs, which caps it at 40-55 % of the FMA peak. Here the
/// reduction is cut into chunks of <see cref="ChunkSteps"/> steps; per chunk, A is packed tile by tile (each step's
/// <see cref="TileRows"/> row values contiguous) and B panel by panel (2 vectors wide, each step's columns contiguous),
/// and every 6 x 2-vector tile (12 accumulators, as in <see cref="PackedGemmCore"/>) runs over the chunk from L1. A tile's
/// accumulators are carried from one chunk to the next through a scratch copy of C, stored and reloaded exactly, so the
/// chunks add no rounding.
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
    /// <summary>Reduction steps per chunk: a B panel chunk (8 KiB for float on 256-bit vectors) and a packed A tile stay in L1.</summary>
    internal const int ChunkSteps = 128;

    /// <summary>Rows per register tile (12 accumulators of the 16 AVX2 registers, 2 B vectors and the broadcast).</summary>
    internal const int TileRows = 6;

    /// <summary>
    /// Whether <see cref="Run{T}"/> takes the plan: a vector width is accelerated, N is a whole number of 2-vector
    /// panels, and the problem is not empty. Anything else runs on <see cref="GemmCore"/>.
    /// </summary>
    public static bool Supports<T>(in GemmPlan<T> p) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int w = Width<T>();
        return w > 0 && p.M > 0 && p.N >= 2 * w && p.N % (2 * w) == 0 && p.K.Outer > 0 && p.K.Inner > 0;
    }

    /// <summary>Runs a plan that <see cref="Supports{T}"/> accepts.</summary>
    public static void Run<T>(in GemmPlan<T> p) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (Vector256.IsHardwareAccelerated)
            Run<T, Vector256<T>, Simd256<T>>(p);
        else
            Run<T, Vector128<T>, Simd128<T>>(p);
    }

    /// <summary>Vector width used (elements), or 0 when no vector width is accelerated.</summary>
    private static int Width<T>() where T : unmanaged =>
        Vector256.IsHardwareAccelerated ? Vector256<T>.Count : Vector128.IsHardwareAccelerated ? Vector128<T>.Count : 0;

    /// <summary>Elements of the per-thread scratch a plan of <paramref name="m"/> x <paramref name="n"/> needs.</summary>
    private static int ScratchLength(int m, int n, int panelWidth) =>
        checked(m * n + m * ChunkSteps + ChunkSteps * panelWidth);

    private static void Run<T, TVec, TOps>(in GemmPlan<T> p)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        int w = TOps.Count, nr = 2 * w;
        int m = p.M, n = p.N;
        KLoop k = GemmCore.Normalize(p.K);
        int block = k.Outer == 1 ? GemmCore.KBlock : k.Inner;
        T[] scratch = KernelScratch<T>.Get(ScratchLength(m, n, nr));
        int tiles = (m + TileRows - 1) / TileRows;
        nint* aOff = stackalloc nint[ChunkSteps];
        nint* bOff = stackalloc nint[ChunkSteps];
        nint[] rowOffsets = RowOffsets(p);
        bool* adjacent = stackalloc bool[tiles];
        for (int t = 0; t < tiles; t++)
        {
            int r0 = t * TileRows;
            bool run = r0 + TileRows <= m;
            for (int i = 1; run && i < TileRows; i++)
                run = rowOffsets[r0 + i] == rowOffsets[r0] + i;
            adjacent[t] = run;
        }
        fixed (T* ps = scratch)
        fixed (nint* rowOff = rowOffsets)
        {
            T* acc = ps;                       // m x n: the accumulators carried between chunks
            T* packedA = ps + (nint)m * n;     // tile t at t * TileRows * ChunkSteps: step s holds the tile's rows
            T* packedB = packedA + (nint)m * ChunkSteps; // one panel: step s holds nr columns
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
                    for (int j = 0; j < n; j += nr)
                    {
                        PackB<T, TVec, TOps>(p.B + j, bOff, cs, packedB);
                        for (int t = 0; t < tiles; t++)
                        {
                            int r0 = t * TileRows, mr = Math.Min(TileRows, m - r0);
                            var dst = new TileTarget<T>(p, acc, r0, j, first, last, accC);
                            T* a = packedA + (nint)r0 * ChunkSteps;
                            switch (mr)
                            {
                                case 6: Tile<T, TVec, TOps, C6>(a, packedB, cs, dst); break;
                                case 5: Tile<T, TVec, TOps, C5>(a, packedB, cs, dst); break;
                                case 4: Tile<T, TVec, TOps, C4>(a, packedB, cs, dst); break;
                                case 3: Tile<T, TVec, TOps, C3>(a, packedB, cs, dst); break;
                                case 2: Tile<T, TVec, TOps, C2>(a, packedB, cs, dst); break;
                                default: Tile<T, TVec, TOps, C1>(a, packedB, cs, dst); break;
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

    /// <summary>Row r of C in the plan's (group, row) addressing.</summary>
    private static T* RowC<T>(in GemmPlan<T> p, int r) where T : unmanaged =>
        p.C + r / p.RowsPerGroup * p.CGroup + r % p.RowsPerGroup * p.CRow;

    /// <summary>
    /// Packs the chunk's A values tile by tile: tile t (rows r0 = 6t ..) at dst + r0 * <see cref="ChunkSteps"/>, step s's
    /// values of its mr rows contiguous at s * mr. Step by step, so each step's input row is read once for all tiles; a
    /// full tile whose rows are adjacent in memory (channels of one tap: <paramref name="adjacent"/>) is one 6-element copy.
    /// </summary>
    private static void PackA<T>(T* a, nint* rowOff, bool* adjacent, int m, nint* aOff, int steps, T* dst) where T : unmanaged
    {
        for (int s = 0; s < steps; s++)
        {
            T* src = a + aOff[s];
            for (int r0 = 0; r0 < m; r0 += TileRows)
            {
                int mr = Math.Min(TileRows, m - r0);
                T* d = dst + (nint)r0 * ChunkSteps + s * mr;
                nint o = rowOff[r0];
                if (adjacent[r0 / TileRows])
                {
                    CopyTileRow((byte*)(src + o), (byte*)d, TileRows * sizeof(T));
                    continue;
                }
                for (int i = 0; i < mr; i++)
                    d[i] = src[rowOff[r0 + i]];
            }
        }
    }

    /// <summary>Copies one tile row of 6 floats (24 bytes) or 6 doubles (48 bytes) with vector moves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyTileRow(byte* src, byte* dst, int bytes)
    {
        Vector128.Store(Vector128.Load(src), dst);
        if (bytes == 24)
        {
            *(ulong*)(dst + 16) = *(ulong*)(src + 16);
            return;
        }
        Vector128.Store(Vector128.Load(src + 16), dst + 16);
        Vector128.Store(Vector128.Load(src + 32), dst + 32);
    }

    /// <summary>dst[s * 2W ..] = the 2 vectors of B's columns at b + bOff[s].</summary>
    private static void PackB<T, TVec, TOps>(T* b, nint* bOff, int steps, T* dst)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        int w = TOps.Count;
        for (int s = 0; s < steps; s++)
        {
            T* src = b + bOff[s];
            TOps.Store(dst, TOps.Load(src));
            TOps.Store(dst + w, TOps.Load(src + w));
            dst += 2 * w;
        }
    }

    /// <summary>Where one tile's accumulators come from and go to in one chunk.</summary>
    private readonly struct TileTarget<T> where T : unmanaged
    {
        public readonly GemmPlan<T> Plan;
        public readonly T* Acc;
        public readonly int Row, Column;
        public readonly bool First, Last, AccumulateC;

        public TileTarget(in GemmPlan<T> plan, T* acc, int row, int column, bool first, bool last, bool accumulateC)
        {
            Plan = plan;
            Acc = acc + (nint)row * plan.N + column;
            Row = row;
            Column = column;
            First = first;
            Last = last;
            AccumulateC = accumulateC;
        }
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
        nint ld = dst.Plan.N;
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
            a += mr;
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
        T* c = RowC(dst.Plan, dst.Row + i) + dst.Column;
        GemmCore.Put<T, TVec, TOps>(c, v0, dst.AccumulateC);
        GemmCore.Put<T, TVec, TOps>(c + TOps.Count, v1, dst.AccumulateC);
    }
}
