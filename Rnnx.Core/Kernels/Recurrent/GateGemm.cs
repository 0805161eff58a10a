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
    internal const int MaxGateArea = 64 * 64;

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
        int w = TOps.Count, valid = dst.Valid, whole = valid / w * w, rest = valid - whole;
        // a half-vector rest (4 floats of a 256-bit vector: 20 units) as one 128-bit multiply-add, the same per lane
        bool half = rest > 0 && rest * sizeof(T) == 16 && w * sizeof(T) == 32 && Vector128.IsHardwareAccelerated;
        bool acc = dst.Accumulate;
        nint ld = dst.Ld, columns = dst.Columns;
        T* c = dst.C;
        byte* partialBytes = stackalloc byte[w * sizeof(T) + 64];
        T* partial = AlignedArrays.CacheLine<T>(partialBytes);
        for (int r = 0; r < rows; r++)
        {
            T* row = c + r * ld;
            for (int g = 0; g < usedGates; g++)
            {
                T xs = a[r * lda + g * aGateStride];
                TVec x = TOps.Splat(xs);
                T* bg = b + (nint)g * wp;
                T* cg = row + g * columns;
                for (int j = 0; j < whole; j += w)
                    Put<T, TVec, TOps>(cg + j, TOps.MulAdd(x, TOps.Load(bg + j), TOps.Zero), acc);
                if (rest == 0) continue;
                if (half) MulAddInto<T, Vector128<T>, Simd128<T>>(xs, bg + whole, cg + whole, acc);
                else
                {
                    TOps.Store(partial, TOps.MulAdd(x, TOps.Load(bg + whole), TOps.Zero));
                    Merge(partial, w, cg + whole, ld, 1, rest, acc);
                }
            }
        }
    }

    /// <summary>c (+)= x · b (one multiply-add from zero per lane) for one vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MulAddInto<T, TVec, TOps>(T x, T* b, T* c, bool acc)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
        => Put<T, TVec, TOps>(c, TOps.MulAdd(TOps.Splat(x), TOps.Load(b), TOps.Zero), acc);

    private static void Run<T, TVec, TOps>(int rows, int red, T* a, nint lda, nint aGateStride, int wp, int usedGates, T* b, in Destination<T> dst)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        int w = TOps.Count, nr = 2 * w, vectorsPerGate = wp / w, panels = (usedGates * vectorsPerGate + 1) / 2;
        int tiles = PackedGemmCore.Tiles(rows), height = rows / tiles, taller = rows % tiles;
        // part vectors (a gate's last, or past the used gates) go through these tiles, MaxRows x one vector each
        byte* partialBytes = stackalloc byte[2 * PackedGemmCore.MaxRows * w * sizeof(T) + 64];
        T* partial0 = AlignedArrays.CacheLine<T>(partialBytes);
        T* partial1 = partial0 + PackedGemmCore.MaxRows * w;
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
            var panel = new Panel<T>
            {
                A = a + g0 * aGateStride, Lda = lda, D1 = (g1 - g0) * aGateStride, Red = red, B = b + (nint)j * red * nr,
                C = dst.C, Ld = dst.Ld, Column0 = g0 * dst.Columns + o0, Column1 = g1 * dst.Columns + o1, Lanes0 = lanes0, Lanes1 = lanes1,
                Full0 = full0, Full1 = full1, Acc0 = full0 && dst.Accumulate, Acc1 = full1 && dst.Accumulate, Accumulate = dst.Accumulate,
                Partial0 = partial0, Partial1 = partial1, Width = w,
                // the vectors' masks (a whole vector is multiplied in the tile, a part vector in its merge)
                Mask0 = masked ? dst.Mask.M + g0 * dst.Mask.GateStride + o0 : null,
                Mask1 = masked ? dst.Mask.M + g1 * dst.Mask.GateStride + o1 : null,
                MaskLd = dst.Mask.Ld, RowsPerMask = dst.Mask.RowsPerMask, MaskOffsets = maskOffsets,
            };
            var maskRows = new MaskCursor();
            // the taller tiles first, then the others: one call per tile height, the tiles in row order
            RunTiles<T, TVec, TOps>(height + 1, taller, 0, panel, ref maskRows, masked);
            RunTiles<T, TVec, TOps>(height, tiles - taller, taller * (height + 1), panel, ref maskRows, masked);
        }
    }

    /// <summary>A panel's operands and destinations (set once per panel, read by every tile of it).</summary>
    private struct Panel<T> where T : unmanaged
    {
        public T* A, B, C, Partial0, Partial1, Mask0, Mask1;
        public nint* MaskOffsets;
        public nint Lda, D1, Ld, MaskLd;
        public int Red, Column0, Column1, Lanes0, Lanes1, RowsPerMask, Width;
        public bool Full0, Full1, Acc0, Acc1, Accumulate;
    }

    /// <summary>The mask row of the next tile row, counted row by row (no division per tile).</summary>
    private struct MaskCursor
    {
        public nint Row;
        public int InRow;
    }

    /// <summary>The tile variant of a masked sum (<see cref="Out{T, TVec, TOps, TMask}"/>); <see cref="C1"/> for the others.</summary>
    private readonly struct Masked : IConst { public static int Value => 2; }

    private static void RunTiles<T, TVec, TOps>(int mr, int count, int r0, in Panel<T> p, ref MaskCursor maskRows, bool masked)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
    {
        if (count == 0) return;
        if (masked) RunTiles<T, TVec, TOps, Masked>(mr, count, r0, p, ref maskRows);
        else RunTiles<T, TVec, TOps, C1>(mr, count, r0, p, ref maskRows);
    }

    private static void RunTiles<T, TVec, TOps, TMask>(int mr, int count, int r0, in Panel<T> p, ref MaskCursor maskRows)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
        where TMask : IConst
    {
        if (p.D1 == 0) RunTiles<T, TVec, TOps, C1, TMask>(mr, count, r0, p, ref maskRows);
        else RunTiles<T, TVec, TOps, C2, TMask>(mr, count, r0, p, ref maskRows);
    }

    private static void RunTiles<T, TVec, TOps, TGates, TMask>(int mr, int count, int r0, in Panel<T> p, ref MaskCursor maskRows)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
        where TGates : IConst
        where TMask : IConst
    {
        switch (mr)
        {
            case 6: Tiles<T, TVec, TOps, C6, TGates, TMask>(count, r0, p, ref maskRows); break;
            case 5: Tiles<T, TVec, TOps, C5, TGates, TMask>(count, r0, p, ref maskRows); break;
            case 4: Tiles<T, TVec, TOps, C4, TGates, TMask>(count, r0, p, ref maskRows); break;
            case 3: Tiles<T, TVec, TOps, C3, TGates, TMask>(count, r0, p, ref maskRows); break;
            case 2: Tiles<T, TVec, TOps, C2, TGates, TMask>(count, r0, p, ref maskRows); break;
            default: Tiles<T, TVec, TOps, C1, TGates, TMask>(count, r0, p, ref maskRows); break;
        }
    }

    /// <summary>
    /// <paramref name="count"/> tiles of TMr rows from row <paramref name="r0"/> on, one after another in one call (a call
    /// per tile cost about as much as a 20-step tile's epilogue); part vectors merged after each tile.
    /// </summary>
    private static void Tiles<T, TVec, TOps, TMr, TGates, TMask>(int count, int r0, in Panel<T> p, ref MaskCursor maskRows)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimd<T, TVec>
        where TMr : IConst
        where TGates : IConst
        where TMask : IConst
    {
        int mr = TMr.Value;
        bool masked = TMask.Value == Masked.Value;
        T* a = p.A, b = p.B, m0 = p.Full0 ? p.Mask0 : null, m1 = p.Full1 ? p.Mask1 : null;
        nint lda = p.Lda, d1 = p.D1, ld0 = p.Full0 ? p.Ld : p.Width, ld1 = p.Full1 ? p.Ld : p.Width;
        nint* offsets = p.MaskOffsets;
        for (int t = 0; t < count; t++, r0 += mr)
        {
            if (masked)
                for (int i = 0; i < mr; i++)
                {
                    offsets[i] = maskRows.Row;
                    if (++maskRows.InRow == p.RowsPerMask) { maskRows.InRow = 0; maskRows.Row += p.MaskLd; }
                }
            T* row = p.C + r0 * p.Ld;
            T* c0 = p.Full0 ? row + p.Column0 : p.Partial0;
            T* c1 = p.Full1 ? row + p.Column1 : p.Partial1;
            Tile<T, TVec, TOps, TMr, TGates, TMask>(a + r0 * lda, d1, lda, p.Red, b, c0, ld0, p.Acc0, c1, ld1, p.Acc1, m0, m1, offsets);
            if (!p.Full0 && p.Lanes0 > 0)
            {
                if (masked) MaskedMerge(p.Partial0, p.Width, row + p.Column0, p.Ld, mr, p.Lanes0, p.Mask0, offsets);
                else Merge(p.Partial0, p.Width, row + p.Column0, p.Ld, mr, p.Lanes0, p.Accumulate);
            }
            if (!p.Full1 && p.Lanes1 > 0)
            {
                if (masked) MaskedMerge(p.Partial1, p.Width, row + p.Column1, p.Ld, mr, p.Lanes1, p.Mask1, offsets);
                else Merge(p.Partial1, p.Width, row + p.Column1, p.Ld, mr, p.Lanes1, p.Accumulate);
            }
        }
    }

    /// <summary>
    /// Adds (or copies) the first <paramref name="lanes"/> columns of <paramref name="rows"/> rows of the stack tile into
    /// C, element by element: the same one addition per element as a vector store.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
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
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
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
        if (TMask.Value == Masked.Value && m != null) TOps.Store(c, TOps.Add(TOps.Load(c), GemmCore.MultiplyUnfused<T, TVec>(v, TOps.Load(m + maskOffsets[i]))));
        else Put<T, TVec, TOps>(c, v, acc);
    }

    /// <summary>
    /// <see cref="Merge"/> of a masked sum: c[j] += tile[j] · m[j] per row, m at <paramref name="m"/> + the row's mask
    /// offset: the same product and sum per element as the tile's whole vectors.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
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
