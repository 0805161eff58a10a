using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Rnnx.Simd;

namespace Rnnx.Kernels;

internal static unsafe partial class GateGemm
{
    /// <summary>Most gates <see cref="ProductMaskedSum{T}"/> sums in one tile (its accumulators: three rows of each gate's vector).</summary>
    private const int MaxTileGates = 4;

    /// <summary>Rows of a gate tile: 3 rows × 4 gates = 12 accumulators, with one B vector and one broadcast 14 of the 16 AVX2 registers.</summary>
    private const int GateTileRows = 3;

    /// <summary>
    /// Whether <see cref="ProductMaskedSum{T}"/> runs on gate tiles on this thread (always, except in the tests' and
    /// benchmarks' baseline, which runs the panel tiles; the results are the same). Per thread, so that a baseline
    /// switched on one thread changes nothing another thread runs.
    /// </summary>
    internal static bool GateTiles { get => !t_panelTiles; set => t_panelTiles = !value; }

    [ThreadStatic]
    private static bool t_panelTiles;

    /// <summary>
    /// <see cref="ProductMaskedSum{T}"/> one output vector at a time: a tile holds that vector of every gate's product
    /// for three rows and adds them into da in gate order from its registers, da[r, j] = (((da + P_0·m_0) + P_1·m_1) + …),
    /// da loaded and stored once per vector instead of once per gate. Each P_g is the panel tile's sum (red
    /// multiply-adds from zero in increasing order) and each masked add the same multiply then add, so the bits are
    /// the panel path's. The packed panels are read where <see cref="Pack{T}"/> put gate g's vector v (padded column
    /// g·wp + v·W); a part vector (width not a multiple of W) is computed whole (the padding is zero) and added lane by lane.
    /// </summary>
    private static void RunGateTiles<T, TVec, TOps>(int rows, int red, int width, T* a, nint lda, nint aGateStride, int wp, int usedGates, T* b,
        T* da, nint ldda, T* masks, nint maskLd, int rowsPerMask)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        int w = TOps.Count, nr = 2 * w;
        T** bg = stackalloc T*[MaxTileGates];
        T* partial = stackalloc T[GateTileRows * w];
        for (int v = 0; v * w < width; v++)
        {
            for (int g = 0; g < usedGates; g++)
            {
                int col = g * wp + v * w;
                bg[g] = b + (nint)(col / nr) * red * nr + col % nr;
            }
            var tile = new GateTileArgs<T>
            {
                A = a, Lda = lda, GateStride = aGateStride, Red = red, Nr = nr, B0 = bg[0], B1 = bg[Math.Min(1, usedGates - 1)],
                B2 = bg[Math.Min(2, usedGates - 1)], B3 = bg[Math.Min(3, usedGates - 1)],
                C = da + v * w, Ldc = ldda, M = masks + v * w, MaskLd = maskLd, RowsPerMask = rowsPerMask,
                MaskGateStride = width, Lanes = Math.Min(w, width - v * w), Partial = partial,
            };
            switch (usedGates)
            {
                case 4: GateTileRowsOf<T, TVec, TOps, C4>(rows, tile); break;
                case 3: GateTileRowsOf<T, TVec, TOps, C3>(rows, tile); break;
                case 2: GateTileRowsOf<T, TVec, TOps, C2>(rows, tile); break;
                default: GateTileRowsOf<T, TVec, TOps, C1>(rows, tile); break;
            }
        }
    }

    /// <summary>All rows of one output vector: three-row tiles, then the one or two rows left; each row's mask row counted row by row.</summary>
    private static void GateTileRowsOf<T, TVec, TOps, TGates>(int rows, GateTileArgs<T> t)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
        where TGates : IConst
    {
        nint maskRow = 0;
        int inRow = 0;
        T* a = t.A, c = t.C, m = t.M;
        int r0 = 0;
        for (; r0 + GateTileRows <= rows; r0 += GateTileRows)
        {
            t.A = a + r0 * t.Lda;
            t.C = c + r0 * t.Ldc;
            t.M0 = m + maskRow;
            Next(ref maskRow, ref inRow, t);
            t.M1 = m + maskRow;
            Next(ref maskRow, ref inRow, t);
            t.M2 = m + maskRow;
            Next(ref maskRow, ref inRow, t);
            GateTile<T, TVec, TOps, C3, TGates>(t);
        }
        if (r0 == rows) return;
        t.A = a + r0 * t.Lda;
        t.C = c + r0 * t.Ldc;
        t.M0 = m + maskRow;
        Next(ref maskRow, ref inRow, t);
        t.M1 = m + maskRow;
        if (rows - r0 == 2) GateTile<T, TVec, TOps, C2, TGates>(t);
        else GateTile<T, TVec, TOps, C1, TGates>(t);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Next<T>(ref nint maskRow, ref int inRow, in GateTileArgs<T> t) where T : unmanaged
    {
        if (++inRow == t.RowsPerMask) { inRow = 0; maskRow += t.MaskLd; }
    }

    /// <summary>A gate tile's operands: A's rows (gate g's block at g·GateStride), gate g's B vector at B[g] + q·Nr, C and the rows' masks.</summary>
    private struct GateTileArgs<T> where T : unmanaged
    {
        public T* A, C, M, M0, M1, M2, Partial, B0, B1, B2, B3;
        public nint Lda, GateStride, Ldc, MaskLd;
        public int Red, Nr, MaskGateStride, Lanes, RowsPerMask;
    }

    /// <summary>TMr rows × one output vector of TGates gates over the reduction, then the masked sums into C (see <see cref="RunGateTiles"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GateTile<T, TVec, TOps, TMr, TGates>(in GateTileArgs<T> t)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
        where TMr : IConst
        where TGates : IConst
    {
        int mr = TMr.Value, gates = TGates.Value;
        nint gs = t.GateStride, nr = t.Nr;
        T* a0 = t.A, a1 = mr > 1 ? a0 + t.Lda : a0, a2 = mr > 2 ? a1 + t.Lda : a0;
        T* b0 = t.B0, b1 = t.B1, b2 = t.B2, b3 = t.B3;
        TVec z = TOps.Zero;
        TVec s00 = z, s01 = z, s02 = z, s03 = z, s10 = z, s11 = z, s12 = z, s13 = z, s20 = z, s21 = z, s22 = z, s23 = z;
        for (nint q = 0, o = 0; q < t.Red; q++, o += nr)
        {
            TVec bv = TOps.Load(b0 + o);
            s00 = TOps.MulAdd(TOps.Splat(a0[q]), bv, s00);
            if (mr > 1) s10 = TOps.MulAdd(TOps.Splat(a1[q]), bv, s10);
            if (mr > 2) s20 = TOps.MulAdd(TOps.Splat(a2[q]), bv, s20);
            if (gates > 1)
            {
                bv = TOps.Load(b1 + o);
                s01 = TOps.MulAdd(TOps.Splat(a0[gs + q]), bv, s01);
                if (mr > 1) s11 = TOps.MulAdd(TOps.Splat(a1[gs + q]), bv, s11);
                if (mr > 2) s21 = TOps.MulAdd(TOps.Splat(a2[gs + q]), bv, s21);
            }
            if (gates > 2)
            {
                bv = TOps.Load(b2 + o);
                s02 = TOps.MulAdd(TOps.Splat(a0[2 * gs + q]), bv, s02);
                if (mr > 1) s12 = TOps.MulAdd(TOps.Splat(a1[2 * gs + q]), bv, s12);
                if (mr > 2) s22 = TOps.MulAdd(TOps.Splat(a2[2 * gs + q]), bv, s22);
            }
            if (gates > 3)
            {
                bv = TOps.Load(b3 + o);
                s03 = TOps.MulAdd(TOps.Splat(a0[3 * gs + q]), bv, s03);
                if (mr > 1) s13 = TOps.MulAdd(TOps.Splat(a1[3 * gs + q]), bv, s13);
                if (mr > 2) s23 = TOps.MulAdd(TOps.Splat(a2[3 * gs + q]), bv, s23);
            }
        }
        GateSum<T, TVec, TOps, TGates>(t, t.C, t.M0, 0, s00, s01, s02, s03);
        if (mr > 1) GateSum<T, TVec, TOps, TGates>(t, t.C + t.Ldc, t.M1, 1, s10, s11, s12, s13);
        if (mr > 2) GateSum<T, TVec, TOps, TGates>(t, t.C + 2 * t.Ldc, t.M2, 2, s20, s21, s22, s23);
    }

    /// <summary>
    /// c += p_0 · m_0, then + p_1 · m_1, … (each product rounded, then each sum): a whole vector in registers, a part
    /// vector through the tile's stack row (its valid lanes; 4 floats of a 256-bit vector as one 128-bit vector).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GateSum<T, TVec, TOps, TGates>(in GateTileArgs<T> t, T* c, T* m, int row, TVec p0, TVec p1, TVec p2, TVec p3)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
        where TGates : IConst
    {
        int gates = TGates.Value, w = TOps.Count;
        nint mg = t.MaskGateStride;
        if (t.Lanes == w)
        {
            TVec acc = TOps.Add(TOps.Load(c), Multiply<T, TVec>(p0, TOps.Load(m)));
            if (gates > 1) acc = TOps.Add(acc, Multiply<T, TVec>(p1, TOps.Load(m + mg)));
            if (gates > 2) acc = TOps.Add(acc, Multiply<T, TVec>(p2, TOps.Load(m + 2 * mg)));
            if (gates > 3) acc = TOps.Add(acc, Multiply<T, TVec>(p3, TOps.Load(m + 3 * mg)));
            TOps.Store(c, acc);
            return;
        }
        T* s = t.Partial + row * w;
        if (Vector128.IsHardwareAccelerated && t.Lanes * sizeof(T) == 16)
        {
            var acc = Vector128.Load(c);
            TOps.Store(s, p0);
            acc += Vector128.Load(s) * Vector128.Load(m);
            if (gates > 1) { TOps.Store(s, p1); acc += Vector128.Load(s) * Vector128.Load(m + mg); }
            if (gates > 2) { TOps.Store(s, p2); acc += Vector128.Load(s) * Vector128.Load(m + 2 * mg); }
            if (gates > 3) { TOps.Store(s, p3); acc += Vector128.Load(s) * Vector128.Load(m + 3 * mg); }
            acc.Store(c);
            return;
        }
        for (int g = 0; g < gates; g++)
        {
            TOps.Store(s, g == 0 ? p0 : g == 1 ? p1 : g == 2 ? p2 : p3);
            T* mr = m + g * mg;
            for (int j = 0; j < t.Lanes; j++) c[j] = c[j] + s[j] * mr[j];
        }
    }
}
