using System.Numerics;
using System.Runtime.CompilerServices;

using Rnnx.Simd;

namespace Rnnx.Kernels;

/// <summary>
/// An engine's side of one <see cref="RegisterTile"/>: where the tile's A rows are, what its accumulators start from
/// and where they go. Implemented by small structs, so that the JIT specialises and inlines every call.
/// </summary>
internal unsafe interface ITileRows<T, TVec> where T : unmanaged where TVec : struct
{
    /// <summary>Row i's A elements: step (o, q) of the reduction at <c>A(i)[o·AOuter + q·AInner]</c>.</summary>
    T* A(int i);

    /// <summary>Row i's accumulators before the first step: left at zero, or set to carried partial sums.</summary>
    void Start(int i, ref TVec v0, ref TVec v1);

    /// <summary>Row i's sums after the tile's steps.</summary>
    void Store(int i, TVec v0, TVec v1);
}

/// <summary>
/// The 6 x 2 register tile of the packed-panel engines (<see cref="PackedGemmCore"/>, <see cref="LongReductionGemm"/>,
/// <see cref="TallPanelGemm"/>): MR = 1..6 rows x 2 vectors = up to 12 accumulators; each reduction step loads the two
/// B vectors, broadcasts one A element per row from memory and issues 2·MR FMAs (12 accumulators + 2 B + 1 broadcast
/// = 15 of the 16 AVX2 registers). Every element sums its products in the order of the reduction loop, one
/// <c>MulAdd</c> per step in one accumulator. The engines differ only in their <see cref="ITileRows{T, TVec}"/>
/// (A addressing, start and store of the sums) and in the <see cref="KLoop"/> they pass (one or two levels).
/// </summary>
internal static unsafe class RegisterTile
{
    /// <summary>
    /// Runs <typeparamref name="TMr"/> rows of <paramref name="rows"/> over the reduction <paramref name="k"/>, B's step
    /// (o, q) two vectors at <c>b + o·BOuter + q·BInner</c>. No calls inside: every accumulator stays in a register.
    /// Never inlined (the JIT refuses a body with this many locals anyway): one compiled tile per height and engine,
    /// called once per tile, with the engine's <typeparamref name="TRows"/> calls inlined into it.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Run<T, TVec, TOps, TMr, TRows>(in TRows rows, T* b, in KLoop k)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
        where TMr : IConst
        where TRows : unmanaged, ITileRows<T, TVec>
    {
        int w = TOps.Count, mr = TMr.Value;
        T* a0 = rows.A(0);
        T* a1 = mr > 1 ? rows.A(1) : a0;
        T* a2 = mr > 2 ? rows.A(2) : a0;
        T* a3 = mr > 3 ? rows.A(3) : a0;
        T* a4 = mr > 4 ? rows.A(4) : a0;
        T* a5 = mr > 5 ? rows.A(5) : a0;
        TVec z = TOps.Zero;
        TVec s00 = z, s01 = z, s10 = z, s11 = z, s20 = z, s21 = z;
        TVec s30 = z, s31 = z, s40 = z, s41 = z, s50 = z, s51 = z;
        rows.Start(0, ref s00, ref s01);
        if (mr > 1) rows.Start(1, ref s10, ref s11);
        if (mr > 2) rows.Start(2, ref s20, ref s21);
        if (mr > 3) rows.Start(3, ref s30, ref s31);
        if (mr > 4) rows.Start(4, ref s40, ref s41);
        if (mr > 5) rows.Start(5, ref s50, ref s51);
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
        rows.Store(0, s00, s01);
        if (mr > 1) rows.Store(1, s10, s11);
        if (mr > 2) rows.Store(2, s20, s21);
        if (mr > 3) rows.Store(3, s30, s31);
        if (mr > 4) rows.Store(4, s40, s41);
        if (mr > 5) rows.Store(5, s50, s51);
    }

    /// <summary>One C row's two vectors (+)= a tile row's sums, as <see cref="GemmCore.Put{T, TVec, TOps}"/> does.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreRow<T, TVec, TOps>(T* c, TVec v0, TVec v1, bool acc)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        GemmCore.Put<T, TVec, TOps>(c, v0, acc);
        GemmCore.Put<T, TVec, TOps>(c + TOps.Count, v1, acc);
    }
}
