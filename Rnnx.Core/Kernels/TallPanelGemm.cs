using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

using Rnnx.Simd;

namespace Rnnx.Kernels;

/// <summary>
/// A <see cref="GemmPlan{T}"/> with many rows, a short reduction and N = exactly two vectors: one column panel of the
/// convolutions' forward and input-gradient products (<see cref="Conv1DKernels"/> packs the kernel in 2-vector panels
/// and runs the batch x time rows against each panel). Computed with exactly <see cref="GemmCore"/>'s arithmetic but in
/// tiles of up to 6 rows x 2 vectors: 12 accumulators (of the 16 AVX2 registers, beside the 2 B vectors and the
/// broadcast) where <see cref="GemmCore"/> keeps 4 x 2 = 8, which is just the FMA latency (4 cycles) x throughput
/// (2 per cycle) of the core and leaves no slack for a late A element; each B row is also loaded once per 6 rows instead
/// of 4.
/// <para>
/// Arithmetic (the same bits as <see cref="GemmCore.Run{T}"/> on the same plan): the reduction loop is normalised by
/// <see cref="GemmCore.Normalize"/> and cut into the engine's k blocks (<see cref="GemmCore.KBlock"/> inner steps when
/// the outer level has one step, else one block); per block each element sums its products in increasing k order in one
/// accumulator starting at zero, with the same <c>MulAdd</c>, then adds the previous C once (when accumulating, or after
/// the first block). A's elements are broadcast from the rows in place (no packing), through the plan's two-level
/// addressing. The scalar twin is <see cref="Reference.ReferenceGemmPlan"/>.
/// </para>
/// </summary>
internal static unsafe class TallPanelGemm
{
    /// <summary>Rows per full register tile.</summary>
    internal const int TileRows = 6;

    /// <summary>
    /// Whether <see cref="Run{T}"/> takes the plan: a vector width of at most 256 bits is accelerated and N is exactly two
    /// of its vectors. Anything else runs on <see cref="GemmCore"/> (the same bits).
    /// </summary>
    public static bool Supports<T>(in GemmPlan<T> p) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int w = Width<T>();
        return w > 0 && p.N == 2 * w;
    }

    /// <summary>Vector width used (elements), or 0 when no vector width up to 256 bits is accelerated.</summary>
    private static int Width<T>() where T : unmanaged =>
        Vector256.IsHardwareAccelerated ? Vector256<T>.Count : Vector128.IsHardwareAccelerated ? Vector128<T>.Count : 0;

    /// <summary>
    /// Runs a plan that <see cref="Supports{T}"/> accepts. With <paramref name="fromZero"/> (and the plan accumulating) C's
    /// old contents are taken as +0 without being read: every element gets the bits of adding into a zeroed C
    /// ((+0) + sum, which turns a -0 sum into +0), so the caller need not clear C first.
    /// </summary>
    public static void Run<T>(in GemmPlan<T> p, bool fromZero = false) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (p.M <= 0)
            return;
        if (p.K.Outer <= 0 || p.K.Inner <= 0)
        {
            if (!p.Accumulate || fromZero)
                GemmCore.ClearRows(p);
            return;
        }
        if (Vector256.IsHardwareAccelerated)
            Run<T, Vector256<T>, Simd256<T>>(p, fromZero && p.Accumulate);
        else
            Run<T, Vector128<T>, Simd128<T>>(p, fromZero && p.Accumulate);
    }

    /// <summary>
    /// Runs a plan that <see cref="Supports{T}"/> accepts, split over the current team (<see cref="TeamBoard"/>) in row
    /// blocks as <see cref="ParallelGemm.Run{T}"/> splits them (whole groups of a grouped plan). Rows are independent
    /// outputs, so every element gets the arithmetic of the unsplit run.
    /// </summary>
    public static void RunParallel<T>(in GemmPlan<T> p, bool fromZero = false) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int parts = ParallelGemm.RowParts(p);
        if (parts <= 1)
        {
            Run(p, fromZero);
            return;
        }
        var job = Job<T>.ForThread();
        job.Plan = p;
        job.Parts = parts;
        job.FromZero = fromZero;
        TeamBoard.For(parts, job);
        job.Plan = default;
    }

    private sealed class Job<T> : TeamJob where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        [ThreadStatic]
        private static Job<T>? t_job;

        public GemmPlan<T> Plan;
        public int Parts;
        public bool FromZero;

        public static Job<T> ForThread() => t_job ??= new Job<T>();

        public override void Run(int part) => TallPanelGemm.Run(ParallelGemm.RowBlock(Plan, Parts, part), FromZero);
    }

    private static void Run<T, TVec, TOps>(in GemmPlan<T> p, bool fromZero)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        KLoop k = GemmCore.Normalize(p.K);
        int kc = k.Outer == 1 ? GemmCore.KBlock : k.Inner;
        for (int q0 = 0; q0 < k.Inner; q0 += kc)
        {
            int kq = Math.Min(kc, k.Inner - q0);
            var kb = new KLoop(k.Outer, k.AOuter, k.BOuter, kq, k.AInner, k.BInner);
            // the first block adds into C, or into +0 when C is taken as zero; later blocks add into C
            bool acc = p.Accumulate || q0 > 0, zero = fromZero && q0 == 0;
            var cur = new RowCursor<T>(p, q0 * k.AInner, 0);
            T* b = p.B + q0 * k.BInner;
            int r = 0, m = p.M;
            for (; r + TileRows <= m; r += TileRows)
                Tile<T, TVec, TOps, C6>(ref cur, b, kb, acc, zero);
            switch (m - r)
            {
                case 5: Tile<T, TVec, TOps, C5>(ref cur, b, kb, acc, zero); break;
                case 4: Tile<T, TVec, TOps, C4>(ref cur, b, kb, acc, zero); break;
                case 3: Tile<T, TVec, TOps, C3>(ref cur, b, kb, acc, zero); break;
                case 2: Tile<T, TVec, TOps, C2>(ref cur, b, kb, acc, zero); break;
                case 1: Tile<T, TVec, TOps, C1>(ref cur, b, kb, acc, zero); break;
            }
        }
    }

    /// <summary>
    /// MR rows (the cursor's next ones) x 2 vectors: accumulators from zero over the block's (two-level) reduction in
    /// increasing k, then stored to C, or added to it when <paramref name="acc"/> (to +0 instead when <paramref name="zero"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile<T, TVec, TOps, TMr>(ref RowCursor<T> cur, T* b, in KLoop k, bool acc, bool zero)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
        where TMr : IConst
    {
        int w = TOps.Count, mr = TMr.Value;
        cur.Next(out T* a0, out T* c0);
        T* a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
        if (mr > 1) cur.Next(out a1, out c1);
        if (mr > 2) cur.Next(out a2, out c2);
        if (mr > 3) cur.Next(out a3, out c3);
        if (mr > 4) cur.Next(out a4, out c4);
        if (mr > 5) cur.Next(out a5, out c5);
        TVec z = TOps.Zero;
        TVec s00 = z, s01 = z, s10 = z, s11 = z, s20 = z, s21 = z;
        TVec s30 = z, s31 = z, s40 = z, s41 = z, s50 = z, s51 = z;
        int ko = k.Outer, ki = k.Inner;
        nint aO = k.AOuter, aI = k.AInner, bO = k.BOuter, bI = k.BInner;
        for (int o = 0; o < ko; o++)
        {
            nint ai = o * aO;
            T* pb = b + o * bO;
            for (int q = 0; q < ki; q++)
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
                ai += aI;
                pb += bI;
            }
        }
        StoreRow<T, TVec, TOps>(c0, s00, s01, acc, zero);
        if (mr > 1) StoreRow<T, TVec, TOps>(c1, s10, s11, acc, zero);
        if (mr > 2) StoreRow<T, TVec, TOps>(c2, s20, s21, acc, zero);
        if (mr > 3) StoreRow<T, TVec, TOps>(c3, s30, s31, acc, zero);
        if (mr > 4) StoreRow<T, TVec, TOps>(c4, s40, s41, acc, zero);
        if (mr > 5) StoreRow<T, TVec, TOps>(c5, s50, s51, acc, zero);
    }

    /// <summary>
    /// One C row's two vectors (+)= the block's sums, as <see cref="GemmCore.Put{T, TVec, TOps}"/> does; with
    /// <paramref name="zero"/>, (+0) + sums, the bits of adding into a zeroed C, without reading it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<T, TVec, TOps>(T* c, TVec v0, TVec v1, bool acc, bool zero)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        if (zero)
        {
            TOps.Store(c, TOps.Add(TOps.Zero, v0));
            TOps.Store(c + TOps.Count, TOps.Add(TOps.Zero, v1));
            return;
        }
        GemmCore.Put<T, TVec, TOps>(c, v0, acc);
        GemmCore.Put<T, TVec, TOps>(c + TOps.Count, v1, acc);
    }
}
