using System.Diagnostics;
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

    /// <summary>
    /// da[r, j] += Σ_g (A_g·B_g)[r, j] · m_g[j] for the first <paramref name="usedGates"/> gates in gate order (each
    /// product, then its masked value, then the sum rounded, as P then <see cref="MaskedRowKernels.AddMultipliedGates{T}"/>),
    /// m_g at column g·width of row r / <paramref name="rowsPerMask"/> of <paramref name="masks"/> (rows maskLd apart): the
    /// input gradient of a masked product, added from the tile's registers instead of through P. The panels run in
    /// column order, which is gate order, so every element of da receives its gates one after another as in P's pass.
    /// Needs red &gt; 1 (a one-step reduction is <see cref="Product{T}"/>'s row path).
    /// </summary>
    public static void ProductMaskedSum<T>(int gates, int usedGates, int rows, int red, int width, ReadOnlySpan<T> a, int lda, int aGateStride,
        ReadOnlySpan<T> packed, ReadOnlySpan<T> masks, int maskLd, int rowsPerMask, Span<T> da, int ldda) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (rows == 0 || usedGates == 0) return;
        if (red < 2 || rowsPerMask < 1 || ldda < width || da.Length < (rows - 1) * ldda + width
            || masks.Length < (long)((rows - 1) / rowsPerMask) * maskLd + (long)usedGates * width)
            throw new ArgumentException($"GateGemm.ProductMaskedSum: da ({da.Length}, ldda {ldda}) or the masks ({masks.Length}, maskLd {maskLd}, {rowsPerMask} rows each) do not fit {rows} rows of {width}, or red {red} < 2.");
        fixed (T* pm = masks)
        {
            var mask = new MaskRows<T> { M = pm, Ld = maskLd, RowsPerMask = rowsPerMask, GateStride = width };
            Start(gates, usedGates, rows, red, width, a, lda, aGateStride, packed, da, ldda, 0, width, true, mask);
        }
    }

    /// <summary>Checks A and the packed panels, then runs into a destination whose gate g starts at column g·gateColumns, width columns valid.</summary>
    private static void Start<T>(int gates, int usedGates, int rows, int red, int width, ReadOnlySpan<T> a, int lda, int aGateStride,
        ReadOnlySpan<T> packed, Span<T> c, int ldc, int gateColumns, int validWidth, bool accumulate, MaskRows<T> mask = default)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (rows == 0 || usedGates == 0) return;
        if (!Supports<T>(red, width) || usedGates > gates || a.Length < (rows - 1) * lda + (usedGates - 1) * aGateStride + red
            || packed.Length < PackedLength<T>(gates, red, width))
            throw new ArgumentException($"GateGemm: A ({a.Length}, lda {lda}) or the packed panels ({packed.Length}) do not fit {rows} rows of {usedGates} of {gates} gates of {red} x {width}.");
        var dst = new Destination<T> { Columns = gateColumns, Valid = validWidth, Accumulate = accumulate, Ld = ldc, Mask = mask };
        fixed (T* pa = a)
        fixed (T* pb = packed)
        fixed (T* pc = c)
        {
            dst.C = pc;
            int wp = PaddedGateWidth<T>(width);
            if (red == 1)
            {
                Debug.Assert(mask.M == null);
                if (Vector256.IsHardwareAccelerated) RunOne<T, Vector256<T>, Simd256<T>>(rows, pa, lda, aGateStride, wp, usedGates, pb, dst);
                else RunOne<T, Vector128<T>, Simd128<T>>(rows, pa, lda, aGateStride, wp, usedGates, pb, dst);
            }
            else if (Vector256.IsHardwareAccelerated) Run<T, Vector256<T>, Simd256<T>>(rows, red, pa, lda, aGateStride, wp, usedGates, pb, dst);
            else Run<T, Vector128<T>, Simd128<T>>(rows, red, pa, lda, aGateStride, wp, usedGates, pb, dst);
        }
    }

    /// <summary>
    /// Where a product goes: gate g's column j at C + row·Ld + g·Columns + j for j &lt; Valid; with <see cref="Mask"/>
    /// set, multiplied by gate g's mask first and added (<see cref="ProductMaskedSum{T}"/>).
    /// </summary>
    private struct Destination<T> where T : unmanaged
    {
        public T* C;
        public nint Ld;
        public int Columns, Valid;
        public bool Accumulate;
        public MaskRows<T> Mask;
    }

    /// <summary>Masks of a masked sum: gate g's mask for row r at M + (r / RowsPerMask)·Ld + g·GateStride; M null for none.</summary>
    private struct MaskRows<T> where T : unmanaged
    {
        public T* M;
        public nint Ld;
        public int RowsPerMask, GateStride;
    }

    /// <summary>
    /// A reduction of one step (a one-feature input): every element is one multiply-add from zero, x_g·b_g[j], as in
    /// the tile, row by row without tiles (a tile would store twelve vectors per multiply-add). With red = 1 the packed
    /// panels are the padded columns one after another.
    /// </summary>
    private static void RunOne<T, TVec, TOps>(int rows, T* a, nint lda, nint aGateStride, int wp, int usedGates, T* b, in Destination<T> dst)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        int w = TOps.Count;
        T* partial = stackalloc T[w];
        for (int r = 0; r < rows; r++)
        {
            T* row = dst.C + r * dst.Ld;
            for (int g = 0; g < usedGates; g++)
            {
                TVec x = TOps.Splat(a[r * lda + g * aGateStride]);
                T* bg = b + (nint)g * wp;
                T* cg = row + (nint)g * dst.Columns;
                for (int j = 0; j < dst.Valid; j += w)
                {
                    TVec v = TOps.MulAdd(x, TOps.Load(bg + j), TOps.Zero);
                    if (dst.Valid - j >= w) Put<T, TVec, TOps>(cg + j, v, dst.Accumulate);
                    else
                    {
                        TOps.Store(partial, v);
                        Merge(partial, w, cg + j, dst.Ld, 1, dst.Valid - j, dst.Accumulate);
                    }
                }
            }
        }
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
        // a masked sum: each tile row's mask row (offset from the first), counted tile by tile without a division
        bool masked = dst.Mask.M != null;
        nint* maskOffsets = stackalloc nint[PackedGemmCore.MaxRows];
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
            // the vectors' masks (a whole vector is multiplied in the tile, a part vector in its merge)
            T* m0 = masked ? dst.Mask.M + g0 * dst.Mask.GateStride + o0 : null;
            T* m1 = masked ? dst.Mask.M + g1 * dst.Mask.GateStride + o1 : null;
            T* tileMask0 = full0 ? m0 : null, tileMask1 = full1 ? m1 : null;
            nint maskRow = 0;
            int inMaskRow = 0;
            T* bj = b + (nint)j * red * nr;
            for (int t = 0; t < tiles; t++)
            {
                int r0 = t * height + Math.Min(t, taller), mr = t < taller ? height + 1 : height;
                if (masked)
                    for (int i = 0; i < mr; i++)
                    {
                        maskOffsets[i] = maskRow;
                        if (++inMaskRow == dst.Mask.RowsPerMask) { inMaskRow = 0; maskRow += dst.Mask.Ld; }
                    }
                T* a0 = a + r0 * lda + g0 * aGateStride;
                T* row = dst.C + r0 * dst.Ld;
                T* c0 = full0 ? row + g0 * dst.Columns + o0 : partial0;
                T* c1 = full1 ? row + g1 * dst.Columns + o1 : partial1;
                if (masked) RunTile<T, TVec, TOps, Masked>(mr, a0, d1, lda, red, bj, c0, ld0, acc0, c1, ld1, acc1, tileMask0, tileMask1, maskOffsets);
                else RunTile<T, TVec, TOps, C1>(mr, a0, d1, lda, red, bj, c0, ld0, acc0, c1, ld1, acc1, null, null, null);
                if (!full0 && lanes0 > 0)
                {
                    if (masked) MaskedMerge(partial0, w, row + g0 * dst.Columns + o0, dst.Ld, mr, lanes0, m0, maskOffsets);
                    else Merge(partial0, w, row + g0 * dst.Columns + o0, dst.Ld, mr, lanes0, dst.Accumulate);
                }
                if (!full1 && lanes1 > 0)
                {
                    if (masked) MaskedMerge(partial1, w, row + g1 * dst.Columns + o1, dst.Ld, mr, lanes1, m1, maskOffsets);
                    else Merge(partial1, w, row + g1 * dst.Columns + o1, dst.Ld, mr, lanes1, dst.Accumulate);
                }
            }
        }
    }

    /// <summary>The tile variant of a masked sum (<see cref="Out{T, TVec, TOps, TMask}"/>); <see cref="C1"/> for the others.</summary>
    private readonly struct Masked : IConst { public static int Value => 2; }

    private static void RunTile<T, TVec, TOps, TMask>(int mr, T* a0, nint d1, nint lda, int red, T* b, T* c0, nint ld0, bool acc0, T* c1, nint ld1, bool acc1,
        T* m0, T* m1, nint* maskOffsets)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
        where TMask : IConst
    {
        if (d1 == 0) RunTile<T, TVec, TOps, C1, TMask>(mr, a0, d1, lda, red, b, c0, ld0, acc0, c1, ld1, acc1, m0, m1, maskOffsets);
        else RunTile<T, TVec, TOps, C2, TMask>(mr, a0, d1, lda, red, b, c0, ld0, acc0, c1, ld1, acc1, m0, m1, maskOffsets);
    }

    private static void RunTile<T, TVec, TOps, TGates, TMask>(int mr, T* a0, nint d1, nint lda, int red, T* b, T* c0, nint ld0, bool acc0, T* c1, nint ld1, bool acc1,
        T* m0, T* m1, nint* maskOffsets)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
        where TGates : IConst
        where TMask : IConst
    {
        switch (mr)
        {
            case 6: Tile<T, TVec, TOps, C6, TGates, TMask>(a0, d1, lda, red, b, c0, ld0, acc0, c1, ld1, acc1, m0, m1, maskOffsets); break;
            case 5: Tile<T, TVec, TOps, C5, TGates, TMask>(a0, d1, lda, red, b, c0, ld0, acc0, c1, ld1, acc1, m0, m1, maskOffsets); break;
            case 4: Tile<T, TVec, TOps, C4, TGates, TMask>(a0, d1, lda, red, b, c0, ld0, acc0, c1, ld1, acc1, m0, m1, maskOffsets); break;
            case 3: Tile<T, TVec, TOps, C3, TGates, TMask>(a0, d1, lda, red, b, c0, ld0, acc0, c1, ld1, acc1, m0, m1, maskOffsets); break;
            case 2: Tile<T, TVec, TOps, C2, TGates, TMask>(a0, d1, lda, red, b, c0, ld0, acc0, c1, ld1, acc1, m0, m1, maskOffsets); break;
            default: Tile<T, TVec, TOps, C1, TGates, TMask>(a0, d1, lda, red, b, c0, ld0, acc0, c1, ld1, acc1, m0, m1, maskOffsets); break;
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
    /// the second's from a0 + d1 (the same block, one broadcast per row, when TGates is 1); stored at c0 and c1
    /// (<see cref="Out{T, TVec, TOps, TMask}"/>: added when acc0, acc1; in the masked variant masked and added).
    /// 12 accumulators, 2 B vectors and one broadcast at a time: 15 of the 16 AVX2 registers, as <see cref="PackedGemmCore"/>'s tile.
    /// </summary>
    private static void Tile<T, TVec, TOps, TMr, TGates, TMask>(T* a0, nint d1, nint lda, int red, T* b, T* c0, nint ld0, bool acc0, T* c1, nint ld1, bool acc1,
        T* m0, T* m1, nint* maskOffsets)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
        where TMr : IConst
        where TGates : IConst
        where TMask : IConst
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
        Out<T, TVec, TOps, TMask>(c0, ld0, 0, s00, acc0, m0, maskOffsets);
        Out<T, TVec, TOps, TMask>(c1, ld1, 0, s01, acc1, m1, maskOffsets);
        if (mr > 1) { Out<T, TVec, TOps, TMask>(c0, ld0, 1, s10, acc0, m0, maskOffsets); Out<T, TVec, TOps, TMask>(c1, ld1, 1, s11, acc1, m1, maskOffsets); }
        if (mr > 2) { Out<T, TVec, TOps, TMask>(c0, ld0, 2, s20, acc0, m0, maskOffsets); Out<T, TVec, TOps, TMask>(c1, ld1, 2, s21, acc1, m1, maskOffsets); }
        if (mr > 3) { Out<T, TVec, TOps, TMask>(c0, ld0, 3, s30, acc0, m0, maskOffsets); Out<T, TVec, TOps, TMask>(c1, ld1, 3, s31, acc1, m1, maskOffsets); }
        if (mr > 4) { Out<T, TVec, TOps, TMask>(c0, ld0, 4, s40, acc0, m0, maskOffsets); Out<T, TVec, TOps, TMask>(c1, ld1, 4, s41, acc1, m1, maskOffsets); }
        if (mr > 5) { Out<T, TVec, TOps, TMask>(c0, ld0, 5, s50, acc0, m0, maskOffsets); Out<T, TVec, TOps, TMask>(c1, ld1, 5, s51, acc1, m1, maskOffsets); }
    }

    /// <summary>
    /// Row <paramref name="i"/> of one tile vector into C (rows ld apart): stored, or added when acc; in the masked
    /// variant, with a mask <paramref name="m"/> (a whole vector of a masked sum), multiplied by the mask at m + the row's
    /// mask offset and added.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Out<T, TVec, TOps, TMask>(T* c, nint ld, int i, TVec v, bool acc, T* m, nint* maskOffsets)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
        where TMask : IConst
    {
        c += i * ld;
        if (TMask.Value == Masked.Value && m != null) TOps.Store(c, TOps.Add(TOps.Load(c), Multiply<T, TVec>(v, TOps.Load(m + maskOffsets[i]))));
        else Put<T, TVec, TOps>(c, v, acc);
    }

    /// <summary>x · y lane by lane, one rounding each (never fused with the addition that follows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec Multiply<T, TVec>(TVec x, TVec y) where T : unmanaged where TVec : struct
    {
        if (typeof(TVec) == typeof(Vector256<T>))
        {
            var p = Unsafe.As<TVec, Vector256<T>>(ref x) * Unsafe.As<TVec, Vector256<T>>(ref y);
            return Unsafe.As<Vector256<T>, TVec>(ref p);
        }
        if (typeof(TVec) == typeof(Vector128<T>))
        {
            var p = Unsafe.As<TVec, Vector128<T>>(ref x) * Unsafe.As<TVec, Vector128<T>>(ref y);
            return Unsafe.As<Vector128<T>, TVec>(ref p);
        }
        throw new NotSupportedException($"GateGemm: no masked sum on {typeof(TVec).Name}.");
    }

    /// <summary>
    /// <see cref="Merge"/> of a masked sum: c[j] += tile[j] · m[j] per row, m at <paramref name="m"/> + the row's mask
    /// offset: the same product and sum per element as the tile's whole vectors.
    /// </summary>
    private static void MaskedMerge<T>(T* tile, nint ldt, T* c, nint ldc, int rows, int lanes, T* m, nint* maskOffsets)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (Vector128.IsHardwareAccelerated && lanes * sizeof(T) == 16)
        {
            for (int r = 0; r < rows; r++, tile += ldt, c += ldc)
                (Vector128.Load(c) + Vector128.Load(tile) * Vector128.Load(m + maskOffsets[r])).Store(c);
            return;
        }
        for (int r = 0; r < rows; r++, tile += ldt, c += ldc)
        {
            T* mr = m + maskOffsets[r];
            for (int j = 0; j < lanes; j++)
                c[j] = c[j] + tile[j] * mr[j];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put<T, TVec, TOps>(T* c, TVec v, bool acc)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
        => GemmCore.Put<T, TVec, TOps>(c, v, acc);
}
