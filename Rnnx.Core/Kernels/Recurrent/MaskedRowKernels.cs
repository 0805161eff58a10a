using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Rnnx.Simd;
using static Rnnx.Kernels.RecurrentKernels;

namespace Rnnx.Kernels;

/// <summary>
/// Per-gate dropout masks on the rows of a recurrent op (spans and integers). A mask row is chosen by r / rowsPerMask
/// (T for (b, t)-ordered rows, 1 for a step's batch rows); mask spans start at the gate's block and their rows are
/// maskLd apart. Element-wise products only (each result is one correctly rounded multiply, or a multiply then an
/// add, whatever the vector width), so every width equals the scalar twins in
/// <see cref="Reference.ReferenceRecurrent"/>. The loops are inline (no call per row): a step's rows are a few dozen
/// values wide and there are B·T of them per sequence.
/// </summary>
internal static class MaskedRowKernels
{
    /// <summary>dst (rows × k, leading dimension ldd, k when 0) = src (rows × k, leading dimension ld) ⊙ mask.</summary>
    public static void Multiply<T>(ReadOnlySpan<T> src, int ld, int rows, int k, ReadOnlySpan<T> masks, int maskLd, int rowsPerMask, Span<T> dst, int ldd = 0)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        MultiplyGates(src, ld, rows, k, 1, masks, maskLd, rowsPerMask, dst, ldd == 0 ? k : ldd, 0);

    /// <summary>dst (rows × k, leading dimension ld) += src (rows × k, leading dimension lds, k when 0) ⊙ mask (a multiply, then an add).</summary>
    public static void AddMultiplied<T>(ReadOnlySpan<T> src, int rows, int k, ReadOnlySpan<T> masks, int maskLd, int rowsPerMask, Span<T> dst, int ld, int lds = 0)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        AddMultipliedGates(src, lds == 0 ? k : lds, 0, rows, k, 1, masks, maskLd, rowsPerMask, dst, ld);

    /// <summary>
    /// <see cref="Multiply"/> for <paramref name="gates"/> gates at once: dst[r, g·dstGateStride + j] = src[r, j] ·
    /// mask_g[j], gate g's mask at column g·k of its mask row. The same products, one pass over the rows.
    /// </summary>
    public static void MultiplyGates<T>(ReadOnlySpan<T> src, int ld, int rows, int k, int gates, ReadOnlySpan<T> masks, int maskLd, int rowsPerMask,
        Span<T> dst, int ldd, int dstGateStride) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (rows == 0 || k == 0 || gates == 0) return;
        // The loops below run on raw references: a short span must fail here, not write past its end.
        CheckExtents(nameof(MultiplyGates), src.Length >= (long)(rows - 1) * ld + k, dst.Length >= (long)(rows - 1) * ldd + (long)(gates - 1) * dstGateStride + k,
            rowsPerMask > 0 && masks.Length >= (long)((rows - 1) / rowsPerMask) * maskLd + (long)gates * k);
        var rowsOf = new MaskRows(rows, rowsPerMask, maskLd, k);
        if (typeof(T) == typeof(float))
            MulGates<float>(ref FirstAs<T, float>(src), ld, ref FirstAs<T, float>(masks), ref FirstAs<T, float>(dst), ldd, dstGateStride, gates, rowsOf, SplitFloat(k));
        else
            MulGates<double>(ref FirstAs<T, double>(src), ld, ref FirstAs<T, double>(masks), ref FirstAs<T, double>(dst), ldd, dstGateStride, gates, rowsOf, (0, 0));
    }

    /// <summary>
    /// <see cref="AddMultiplied"/> for <paramref name="gates"/> gates at once, in gate order: dst[r, j] += src[r,
    /// g·srcGateStride + j] · mask_g[j] for g = 0, 1, .. (each a multiply, then an add, as gate after gate), dst read
    /// and written once per row.
    /// </summary>
    public static void AddMultipliedGates<T>(ReadOnlySpan<T> src, int lds, int srcGateStride, int rows, int k, int gates, ReadOnlySpan<T> masks, int maskLd,
        int rowsPerMask, Span<T> dst, int ld) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (rows == 0 || k == 0 || gates == 0) return;
        CheckExtents(nameof(AddMultipliedGates), src.Length >= (long)(rows - 1) * lds + (long)(gates - 1) * srcGateStride + k, dst.Length >= (long)(rows - 1) * ld + k,
            rowsPerMask > 0 && masks.Length >= (long)((rows - 1) / rowsPerMask) * maskLd + (long)gates * k);
        var rowsOf = new MaskRows(rows, rowsPerMask, maskLd, k);
        if (typeof(T) == typeof(float))
            AddMulGates<float>(ref FirstAs<T, float>(src), lds, srcGateStride, ref FirstAs<T, float>(masks), ref FirstAs<T, float>(dst), ld, gates, rowsOf, SplitFloat(k));
        else
            AddMulGates<double>(ref FirstAs<T, double>(src), lds, srcGateStride, ref FirstAs<T, double>(masks), ref FirstAs<T, double>(dst), ld, gates, rowsOf, (0, 0));
    }

    private static void CheckExtents(string kernel, bool srcFits, bool dstFits, bool masksFit)
    {
        if (srcFits && dstFits && masksFit) return;
        throw new ArgumentException($"MaskedRowKernels.{kernel}: the {(srcFits ? dstFits ? "masks" : "destination" : "source")} span is shorter than its rows, strides and gates need.");
    }

    /// <summary>Rows, rows per mask row, mask row stride and row length of a masked pass.</summary>
    private readonly record struct MaskRows(int Rows, int RowsPerMask, int MaskLd, int K);

    /// <summary>
    /// The rows mask row by mask row (no division per row: an integer division costs more than a short row's products);
    /// each row's columns [0, j8) in 256-bit vectors, [j8, j4) in 128-bit ones, the rest one by one (j8 = j4 = 0: all scalar),
    /// each source vector loaded once for all gates. A one-column source into gate blocks side by side (the one-feature
    /// input: each row one value times each gate's mask) multiplies the gates' masks as one vector instead.
    /// </summary>
    private static void MulGates<T>(ref T s, int ld, ref T m, ref T d, int ldd, int dstGateStride, int gates, MaskRows rows, (int J8, int J4) split)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (rows.K == 1 && dstGateStride == 1)
        {
            MulOneColumn(ref s, ld, ref m, ref d, ldd, gates, rows);
            return;
        }
        for (int r0 = 0, mi = 0; r0 < rows.Rows; r0 += rows.RowsPerMask, mi++)
        {
            ref T mr = ref Unsafe.Add(ref m, (nint)mi * rows.MaskLd);
            for (int r = r0; r < Math.Min(rows.Rows, r0 + rows.RowsPerMask); r++)
            {
                ref T sr = ref Unsafe.Add(ref s, (nint)r * ld);
                ref T dr = ref Unsafe.Add(ref d, (nint)r * ldd);
                MulGatesRow<T, Simd256<T>>(ref sr, ref mr, rows.K, gates, ref dr, dstGateStride, 0, split.J8);
                MulGatesRow<T, Simd128<T>>(ref sr, ref mr, rows.K, gates, ref dr, dstGateStride, split.J8, split.J4);
                MulGatesRow<T, Scalar<T>>(ref sr, ref mr, rows.K, gates, ref dr, dstGateStride, split.J4, rows.K);
            }
        }
    }

    /// <summary>dst[r, g] = src[r] · mask_g[0] for k = 1 with the gates' results side by side: the gates as the vector lanes.</summary>
    private static void MulOneColumn<T>(ref T s, int ld, ref T m, ref T d, int ldd, int gates, MaskRows rows)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int g4 = typeof(T) == typeof(float) && Vector128.IsHardwareAccelerated ? gates & ~3 : 0;
        for (int r0 = 0, mi = 0; r0 < rows.Rows; r0 += rows.RowsPerMask, mi++)
        {
            ref T mr = ref Unsafe.Add(ref m, (nint)mi * rows.MaskLd);
            for (int r = r0; r < Math.Min(rows.Rows, r0 + rows.RowsPerMask); r++)
            {
                T x = Unsafe.Add(ref s, (nint)r * ld);
                ref T dr = ref Unsafe.Add(ref d, (nint)r * ldd);
                for (int g = 0; g < g4; g += 4)
                    Simd128<T>.Store(Simd128<T>.Create(x) * Simd128<T>.Load(ref mr, g), ref dr, g);
                for (int g = g4; g < gates; g++)
                    Unsafe.Add(ref dr, g) = x * Unsafe.Add(ref mr, g);
            }
        }
    }

    /// <inheritdoc cref="MulGates{T}"/>
    private static void AddMulGates<T>(ref T s, int lds, int srcGateStride, ref T m, ref T d, int ld, int gates, MaskRows rows, (int J8, int J4) split)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int r0 = 0, mi = 0; r0 < rows.Rows; r0 += rows.RowsPerMask, mi++)
        {
            ref T mr = ref Unsafe.Add(ref m, (nint)mi * rows.MaskLd);
            for (int r = r0; r < Math.Min(rows.Rows, r0 + rows.RowsPerMask); r++)
            {
                ref T sr = ref Unsafe.Add(ref s, (nint)r * lds);
                ref T dr = ref Unsafe.Add(ref d, (nint)r * ld);
                AddMulRow<T, Simd256<T>>(ref sr, srcGateStride, ref mr, rows.K, gates, ref dr, 0, split.J8);
                AddMulRow<T, Simd128<T>>(ref sr, srcGateStride, ref mr, rows.K, gates, ref dr, split.J8, split.J4);
                AddMulRow<T, Scalar<T>>(ref sr, srcGateStride, ref mr, rows.K, gates, ref dr, split.J4, rows.K);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MulGatesRow<T, V>(ref T s, ref T m, int k, int gates, ref T d, int dstGateStride, int j0, int j1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where V : struct, ISimdVector<V, T>
    {
        for (int j = j0; j < j1; j += V.Count)
        {
            V x = V.Load(ref s, j);
            for (int g = 0; g < gates; g++)
                V.Store(x * V.Load(ref Unsafe.Add(ref m, (nint)g * k), j), ref Unsafe.Add(ref d, (nint)g * dstGateStride), j);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddMulRow<T, V>(ref T s, int srcGateStride, ref T m, int k, int gates, ref T d, int j0, int j1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where V : struct, ISimdVector<V, T>
    {
        for (int j = j0; j < j1; j += V.Count)
        {
            // gate after gate: a product, then a sum, each rounded (never fused), as the per-gate passes
            V acc = V.Load(ref d, j);
            for (int g = 0; g < gates; g++)
                acc += V.Load(ref Unsafe.Add(ref s, (nint)g * srcGateStride), j) * V.Load(ref Unsafe.Add(ref m, (nint)g * k), j);
            V.Store(acc, ref d, j);
        }
    }
}
