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
        {
            int col = g * wp;
            for (int j = 0; j < width; j++, col++)
            {
                var column = dst[(col / nr * red * nr + col % nr)..];
                if (transposed)
                {
                    // b's row j holds this column's red values side by side
                    var src = b.Slice(j * ldb + g * red, red);
                    for (int q = 0; q < red; q++) column[q * nr] = src[q];
                }
                else
                {
                    var src = b[(g * width + j)..];
                    for (int q = 0; q < red; q++) column[q * nr] = src[q * ldb];
                }
            }
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
        int wp = PaddedGateWidth<T>(width);
        if (ldp < PaddedWidth<T>(gates, width) || (rows > 0 && p.Length < (rows - 1) * ldp + PaddedWidth<T>(gates, width)))
            throw new ArgumentException($"GateGemm.Product: P holds {p.Length} elements, {rows} rows of {PaddedWidth<T>(gates, width)} (ldp {ldp}) needed.");
        Start(gates, usedGates, rows, red, width, a, lda, aGateStride, packed, p, ldp, wp, wp, false);
    }

    /// <summary>
    /// c[:, g·width + j] (+)= (A_g·B_g)[:, j] for the first <paramref name="usedGates"/> gates, C in gate layout (gate
    /// blocks of width side by side, row stride ldc): whole vectors go straight into C, a gate's last part vector
    /// through a stack tile, one addition per element either way (the per-gate GEMMs' arithmetic).
    /// </summary>
    public static void Multiply<T>(int gates, int usedGates, int rows, int red, int width, ReadOnlySpan<T> a, int lda, int aGateStride,
        ReadOnlySpan<T> packed, Span<T> c, int ldc, bool accumulate) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (ldc < usedGates * width || (rows > 0 && c.Length < (rows - 1) * ldc + usedGates * width))
            throw new ArgumentException($"GateGemm.Multiply: C holds {c.Length} elements, {rows} rows of {usedGates * width} (ldc {ldc}) needed.");
        Start(gates, usedGates, rows, red, width, a, lda, aGateStride, packed, c, ldc, width, width, accumulate);
    }

    /// <summary>Checks A and the packed panels, then runs into a destination whose gate g starts at column g·gateColumns, width columns valid.</summary>
    private static void Start<T>(int gates, int usedGates, int rows, int red, int width, ReadOnlySpan<T> a, int lda, int aGateStride,
        ReadOnlySpan<T> packed, Span<T> c, int ldc, int gateColumns, int validWidth, bool accumulate) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (rows == 0 || usedGates == 0) return;
        if (!Supports<T>(red, width) || usedGates > gates || a.Length < (rows - 1) * lda + (usedGates - 1) * aGateStride + red
            || packed.Length < PackedLength<T>(gates, red, width))
            throw new ArgumentException($"GateGemm: A ({a.Length}, lda {lda}) or the packed panels ({packed.Length}) do not fit {rows} rows of {usedGates} of {gates} gates of {red} x {width}.");
        var dst = new Destination<T> { Columns = gateColumns, Valid = validWidth, Accumulate = accumulate, Ld = ldc };
        fixed (T* pa = a)
        fixed (T* pb = packed)
        fixed (T* pc = c)
        {
            dst.C = pc;
            if (Vector256.IsHardwareAccelerated) Run<T, Vector256<T>, Simd256<T>>(rows, red, pa, lda, aGateStride, PaddedGateWidth<T>(width), usedGates, pb, dst);
            else Run<T, Vector128<T>, Simd128<T>>(rows, red, pa, lda, aGateStride, PaddedGateWidth<T>(width), usedGates, pb, dst);
        }
    }

    /// <summary>Where a product goes: gate g's column j at C + row·Ld + g·Columns + j for j &lt; Valid.</summary>
    private struct Destination<T> where T : unmanaged
    {
        public T* C;
        public nint Ld;
        public int Columns, Valid;
        public bool Accumulate;
    }

    private static void Run<T, TVec, TOps>(int rows, int red, T* a, nint lda, nint aGateStride, int wp, int usedGates, T* b, in Destination<T> dst)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        int w = TOps.Count, nr = 2 * w, vectorsPerGate = wp / w, panels = (usedGates * vectorsPerGate + 1) / 2;
        int tiles = PackedGemmCore.Tiles(rows), height = rows / tiles, taller = rows % tiles;
        // part vectors (a gate's last, or past the used gates) go through these tiles, MaxRows x one vector each
        T* partial0 = stackalloc T[PackedGemmCore.MaxRows * w];
        T* partial1 = stackalloc T[PackedGemmCore.MaxRows * w];
        for (int j = 0; j < panels; j++)
        {
            // each vector's gate; a panel's second vector past the used gates (padding, or an unused gate's first
            // vector) reads the last used gate's block, so that A is never read outside those blocks
            int v0 = 2 * j, v1 = 2 * j + 1;
            int g0 = v0 / vectorsPerGate, g1 = Math.Min(v1 / vectorsPerGate, usedGates - 1);
            int o0 = v0 % vectorsPerGate * w, o1 = v1 % vectorsPerGate * w;
            int lanes0 = Math.Min(w, dst.Valid - o0), lanes1 = v1 / vectorsPerGate < usedGates ? Math.Min(w, dst.Valid - o1) : 0;
            bool full0 = lanes0 == w, full1 = lanes1 == w;
            nint ld0 = full0 ? dst.Ld : w, ld1 = full1 ? dst.Ld : w, d1 = (g1 - g0) * aGateStride;
            bool acc0 = full0 && dst.Accumulate, acc1 = full1 && dst.Accumulate;
            T* bj = b + (nint)j * red * nr;
            for (int t = 0; t < tiles; t++)
            {
                int r0 = t * height + Math.Min(t, taller), mr = t < taller ? height + 1 : height;
                T* a0 = a + r0 * lda + g0 * aGateStride;
                T* row = dst.C + r0 * dst.Ld;
                T* c0 = full0 ? row + g0 * dst.Columns + o0 : partial0;
                T* c1 = full1 ? row + g1 * dst.Columns + o1 : partial1;
                RunTile<T, TVec, TOps>(mr, a0, d1, lda, red, bj, c0, ld0, acc0, c1, ld1, acc1);
                if (!full0 && lanes0 > 0) Merge(partial0, w, row + g0 * dst.Columns + o0, dst.Ld, mr, lanes0, dst.Accumulate);
                if (!full1 && lanes1 > 0) Merge(partial1, w, row + g1 * dst.Columns + o1, dst.Ld, mr, lanes1, dst.Accumulate);
            }
        }
    }

    private static void RunTile<T, TVec, TOps>(int mr, T* a0, nint d1, nint lda, int red, T* b, T* c0, nint ld0, bool acc0, T* c1, nint ld1, bool acc1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        if (d1 == 0) RunTile<T, TVec, TOps, C1>(mr, a0, d1, lda, red, b, c0, ld0, acc0, c1, ld1, acc1);
        else RunTile<T, TVec, TOps, C2>(mr, a0, d1, lda, red, b, c0, ld0, acc0, c1, ld1, acc1);
    }

    private static void RunTile<T, TVec, TOps, TGates>(int mr, T* a0, nint d1, nint lda, int red, T* b, T* c0, nint ld0, bool acc0, T* c1, nint ld1, bool acc1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
        where TGates : IConst
    {
        switch (mr)
        {
            case 6: Tile<T, TVec, TOps, C6, TGates>(a0, d1, lda, red, b, c0, ld0, acc0, c1, ld1, acc1); break;
            case 5: Tile<T, TVec, TOps, C5, TGates>(a0, d1, lda, red, b, c0, ld0, acc0, c1, ld1, acc1); break;
            case 4: Tile<T, TVec, TOps, C4, TGates>(a0, d1, lda, red, b, c0, ld0, acc0, c1, ld1, acc1); break;
            case 3: Tile<T, TVec, TOps, C3, TGates>(a0, d1, lda, red, b, c0, ld0, acc0, c1, ld1, acc1); break;
            case 2: Tile<T, TVec, TOps, C2, TGates>(a0, d1, lda, red, b, c0, ld0, acc0, c1, ld1, acc1); break;
            default: Tile<T, TVec, TOps, C1, TGates>(a0, d1, lda, red, b, c0, ld0, acc0, c1, ld1, acc1); break;
        }
    }

    /// <summary>
    /// Adds (or copies) the first <paramref name="lanes"/> columns of <paramref name="rows"/> rows of the stack tile into
    /// C, element by element: the same one addition per element as a vector store.
    /// </summary>
    private static void Merge<T>(T* tile, nint ldt, T* c, nint ldc, int rows, int lanes, bool acc) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (Vector128.IsHardwareAccelerated && lanes * sizeof(T) == 16)
        {
            // half of a 256-bit vector (4 floats: 20 units): one 128-bit addition per row, the same per element
            for (int r = 0; r < rows; r++, tile += ldt, c += ldc)
            {
                var v = Vector128.Load(tile);
                (acc ? Vector128.Load(c) + v : v).Store(c);
            }
            return;
        }
        for (int r = 0; r < rows; r++, tile += ldt, c += ldc)
            for (int j = 0; j < lanes; j++)
                c[j] = acc ? c[j] + tile[j] : tile[j];
    }

    /// <summary>
    /// MR rows × one panel over <paramref name="red"/> steps: the first vector's A from gate block a0 (rows lda apart),
    /// the second's from a0 + d1 (the same block, one broadcast per row, when TGates is 1); stored at c0 and c1 (added
    /// when acc0, acc1). 12 accumulators, 2 B vectors and one broadcast at a time: 15 of the 16 AVX2 registers, as
    /// <see cref="PackedGemmCore"/>'s tile.
    /// </summary>
    private static void Tile<T, TVec, TOps, TMr, TGates>(T* a0, nint d1, nint lda, int red, T* b, T* c0, nint ld0, bool acc0, T* c1, nint ld1, bool acc1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
        where TMr : IConst
        where TGates : IConst
    {
        int w = TOps.Count, mr = TMr.Value;
        bool two = TGates.Value == 2;
        T* a1 = mr > 1 ? a0 + lda : a0;
        T* a2 = mr > 2 ? a1 + lda : a0;
        T* a3 = mr > 3 ? a2 + lda : a0;
        T* a4 = mr > 4 ? a3 + lda : a0;
        T* a5 = mr > 5 ? a4 + lda : a0;
        TVec z = TOps.Zero;
        TVec s00 = z, s01 = z, s10 = z, s11 = z, s20 = z, s21 = z;
        TVec s30 = z, s31 = z, s40 = z, s41 = z, s50 = z, s51 = z;
        T* pb = b;
        for (nint q = 0; q < red; q++)
        {
            nint q1 = q + d1;
            TVec b0 = TOps.Load(pb);
            TVec b1 = TOps.Load(pb + w);
            TVec x = TOps.Splat(a0[q]);
            s00 = TOps.MulAdd(x, b0, s00);
            s01 = TOps.MulAdd(two ? TOps.Splat(a0[q1]) : x, b1, s01);
            if (mr > 1)
            {
                x = TOps.Splat(a1[q]);
                s10 = TOps.MulAdd(x, b0, s10);
                s11 = TOps.MulAdd(two ? TOps.Splat(a1[q1]) : x, b1, s11);
            }
            if (mr > 2)
            {
                x = TOps.Splat(a2[q]);
                s20 = TOps.MulAdd(x, b0, s20);
                s21 = TOps.MulAdd(two ? TOps.Splat(a2[q1]) : x, b1, s21);
            }
            if (mr > 3)
            {
                x = TOps.Splat(a3[q]);
                s30 = TOps.MulAdd(x, b0, s30);
                s31 = TOps.MulAdd(two ? TOps.Splat(a3[q1]) : x, b1, s31);
            }
            if (mr > 4)
            {
                x = TOps.Splat(a4[q]);
                s40 = TOps.MulAdd(x, b0, s40);
                s41 = TOps.MulAdd(two ? TOps.Splat(a4[q1]) : x, b1, s41);
            }
            if (mr > 5)
            {
                x = TOps.Splat(a5[q]);
                s50 = TOps.MulAdd(x, b0, s50);
                s51 = TOps.MulAdd(two ? TOps.Splat(a5[q1]) : x, b1, s51);
            }
            pb += 2 * w;
        }
        Put<T, TVec, TOps>(c0, s00, acc0);
        Put<T, TVec, TOps>(c1, s01, acc1);
        if (mr > 1) { Put<T, TVec, TOps>(c0 + ld0, s10, acc0); Put<T, TVec, TOps>(c1 + ld1, s11, acc1); }
        if (mr > 2) { Put<T, TVec, TOps>(c0 + 2 * ld0, s20, acc0); Put<T, TVec, TOps>(c1 + 2 * ld1, s21, acc1); }
        if (mr > 3) { Put<T, TVec, TOps>(c0 + 3 * ld0, s30, acc0); Put<T, TVec, TOps>(c1 + 3 * ld1, s31, acc1); }
        if (mr > 4) { Put<T, TVec, TOps>(c0 + 4 * ld0, s40, acc0); Put<T, TVec, TOps>(c1 + 4 * ld1, s41, acc1); }
        if (mr > 5) { Put<T, TVec, TOps>(c0 + 5 * ld0, s50, acc0); Put<T, TVec, TOps>(c1 + 5 * ld1, s51, acc1); }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put<T, TVec, TOps>(T* c, TVec v, bool acc)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
        => GemmCore.Put<T, TVec, TOps>(c, v, acc);
}
