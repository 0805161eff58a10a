using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
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
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (ldd == 0) ldd = k;
        Debug.Assert(rows == 0 || (src.Length >= (rows - 1) * ld + k && dst.Length >= (rows - 1) * ldd + k));
        Debug.Assert(rows == 0 || masks.Length >= (rows - 1) / rowsPerMask * maskLd + k);
        if (rows == 0 || k == 0) return;
        if (typeof(T) == typeof(float))
        {
            var (j8, j4) = SplitFloat(k);
            ref float s = ref FirstAs<T, float>(src);
            ref float m = ref FirstAs<T, float>(masks);
            ref float d = ref FirstAs<T, float>(dst);
            Mul<float, Simd256<float>>(ref s, ld, rows, ref m, maskLd, rowsPerMask, ref d, ldd, 0, j8);
            Mul<float, Simd128<float>>(ref s, ld, rows, ref m, maskLd, rowsPerMask, ref d, ldd, j8, j4);
            Mul<float, Scalar<float>>(ref s, ld, rows, ref m, maskLd, rowsPerMask, ref d, ldd, j4, k);
        }
        else Mul<double, Scalar<double>>(ref FirstAs<T, double>(src), ld, rows, ref FirstAs<T, double>(masks), maskLd, rowsPerMask,
            ref FirstAs<T, double>(dst), ldd, 0, k);
    }

    /// <summary>dst (rows × k, leading dimension ld) += src (rows × k, leading dimension lds, k when 0) ⊙ mask (a multiply, then an add).</summary>
    public static void AddMultiplied<T>(ReadOnlySpan<T> src, int rows, int k, ReadOnlySpan<T> masks, int maskLd, int rowsPerMask, Span<T> dst, int ld, int lds = 0)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (lds == 0) lds = k;
        Debug.Assert(rows == 0 || (dst.Length >= (rows - 1) * ld + k && src.Length >= (rows - 1) * lds + k));
        Debug.Assert(rows == 0 || masks.Length >= (rows - 1) / rowsPerMask * maskLd + k);
        if (rows == 0 || k == 0) return;
        if (typeof(T) == typeof(float))
        {
            var (j8, j4) = SplitFloat(k);
            ref float s = ref FirstAs<T, float>(src);
            ref float m = ref FirstAs<T, float>(masks);
            ref float d = ref FirstAs<T, float>(dst);
            AddMul<float, Simd256<float>>(ref s, lds, rows, ref m, maskLd, rowsPerMask, ref d, ld, 0, j8);
            AddMul<float, Simd128<float>>(ref s, lds, rows, ref m, maskLd, rowsPerMask, ref d, ld, j8, j4);
            AddMul<float, Scalar<float>>(ref s, lds, rows, ref m, maskLd, rowsPerMask, ref d, ld, j4, k);
        }
        else AddMul<double, Scalar<double>>(ref FirstAs<T, double>(src), lds, rows, ref FirstAs<T, double>(masks), maskLd, rowsPerMask,
            ref FirstAs<T, double>(dst), ld, 0, k);
    }

    /// <summary>
    /// <see cref="Multiply"/> for <paramref name="gates"/> gates at once: dst[r, g·dstGateStride + j] = src[r, j] ·
    /// mask_g[j], gate g's mask at column g·k of its mask row. The same products, one pass over the rows.
    /// </summary>
    public static void MultiplyGates<T>(ReadOnlySpan<T> src, int ld, int rows, int k, int gates, ReadOnlySpan<T> masks, int maskLd, int rowsPerMask,
        Span<T> dst, int ldd, int dstGateStride) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Debug.Assert(rows == 0 || (src.Length >= (rows - 1) * ld + k && dst.Length >= (rows - 1) * ldd + (gates - 1) * dstGateStride + k));
        Debug.Assert(rows == 0 || masks.Length >= (rows - 1) / rowsPerMask * maskLd + gates * k);
        if (rows == 0 || k == 0 || gates == 0) return;
        if (typeof(T) == typeof(float))
        {
            var (j8, j4) = SplitFloat(k);
            ref float s = ref FirstAs<T, float>(src);
            ref float m = ref FirstAs<T, float>(masks);
            ref float d = ref FirstAs<T, float>(dst);
            for (int r0 = 0, mi = 0; r0 < rows; r0 += rowsPerMask, mi++)
            {
                int r1 = Math.Min(rows, r0 + rowsPerMask);
                for (int r = r0; r < r1; r++)
                    for (int g = 0; g < gates; g++)
                    {
                        ref float sr = ref Unsafe.Add(ref s, (nint)r * ld);
                        ref float mr = ref Unsafe.Add(ref m, (nint)mi * maskLd + g * k);
                        ref float dr = ref Unsafe.Add(ref d, (nint)r * ldd + g * dstGateStride);
                        MulRow<float, Simd256<float>>(ref sr, ref mr, ref dr, 0, j8);
                        MulRow<float, Simd128<float>>(ref sr, ref mr, ref dr, j8, j4);
                        MulRow<float, Scalar<float>>(ref sr, ref mr, ref dr, j4, k);
                    }
            }
        }
        else
            for (int g = 0; g < gates; g++)
                Multiply<T>(src, ld, rows, k, masks[(g * k)..], maskLd, rowsPerMask, dst[(g * dstGateStride)..], ldd);
    }

    /// <summary>
    /// <see cref="AddMultiplied"/> for <paramref name="gates"/> gates at once, in gate order: dst[r, j] += src[r,
    /// g·srcGateStride + j] · mask_g[j] for g = 0, 1, .. (each a multiply, then an add, as gate after gate), dst read
    /// and written once per row.
    /// </summary>
    public static void AddMultipliedGates<T>(ReadOnlySpan<T> src, int lds, int srcGateStride, int rows, int k, int gates, ReadOnlySpan<T> masks, int maskLd,
        int rowsPerMask, Span<T> dst, int ld) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Debug.Assert(rows == 0 || (dst.Length >= (rows - 1) * ld + k && src.Length >= (rows - 1) * lds + (gates - 1) * srcGateStride + k));
        Debug.Assert(rows == 0 || masks.Length >= (rows - 1) / rowsPerMask * maskLd + gates * k);
        if (rows == 0 || k == 0 || gates == 0) return;
        if (typeof(T) == typeof(float))
        {
            var (j8, j4) = SplitFloat(k);
            ref float s = ref FirstAs<T, float>(src);
            ref float m = ref FirstAs<T, float>(masks);
            ref float d = ref FirstAs<T, float>(dst);
            for (int r0 = 0, mi = 0; r0 < rows; r0 += rowsPerMask, mi++)
            {
                int r1 = Math.Min(rows, r0 + rowsPerMask);
                ref float mr = ref Unsafe.Add(ref m, (nint)mi * maskLd);
                for (int r = r0; r < r1; r++)
                {
                    ref float sr = ref Unsafe.Add(ref s, (nint)r * lds);
                    ref float dr = ref Unsafe.Add(ref d, (nint)r * ld);
                    AddMulRow<float, Simd256<float>>(ref sr, srcGateStride, ref mr, k, gates, ref dr, 0, j8);
                    AddMulRow<float, Simd128<float>>(ref sr, srcGateStride, ref mr, k, gates, ref dr, j8, j4);
                    AddMulRow<float, Scalar<float>>(ref sr, srcGateStride, ref mr, k, gates, ref dr, j4, k);
                }
            }
        }
        else
            for (int g = 0; g < gates; g++)
                AddMultiplied<T>(src[(g * srcGateStride)..], rows, k, masks[(g * k)..], maskLd, rowsPerMask, dst, ld, lds);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MulRow<T, V>(ref T s, ref T m, ref T d, int j0, int j1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where V : struct, ISimdVector<V, T>
    {
        for (int j = j0; j < j1; j += V.Count) V.Store(V.Load(ref s, j) * V.Load(ref m, j), ref d, j);
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

    private static void Mul<T, V>(ref T src, int ld, int rows, ref T masks, int maskLd, int rowsPerMask, ref T dst, int ldd, int j0, int j1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where V : struct, ISimdVector<V, T>
    {
        if (j0 >= j1) return;
        // mask row by mask row: no division per row (an integer division costs more than a short row's products)
        for (int r0 = 0, mi = 0; r0 < rows; r0 += rowsPerMask, mi++)
        {
            ref T m = ref Unsafe.Add(ref masks, (nint)mi * maskLd);
            int r1 = Math.Min(rows, r0 + rowsPerMask);
            for (int r = r0; r < r1; r++)
            {
                ref T s = ref Unsafe.Add(ref src, (nint)r * ld);
                ref T d = ref Unsafe.Add(ref dst, (nint)r * ldd);
                for (int j = j0; j < j1; j += V.Count) V.Store(V.Load(ref s, j) * V.Load(ref m, j), ref d, j);
            }
        }
    }

    private static void AddMul<T, V>(ref T src, int lds, int rows, ref T masks, int maskLd, int rowsPerMask, ref T dst, int ld, int j0, int j1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where V : struct, ISimdVector<V, T>
    {
        if (j0 >= j1) return;
        for (int r0 = 0, mi = 0; r0 < rows; r0 += rowsPerMask, mi++)
        {
            ref T m = ref Unsafe.Add(ref masks, (nint)mi * maskLd);
            int r1 = Math.Min(rows, r0 + rowsPerMask);
            for (int r = r0; r < r1; r++)
            {
                ref T s = ref Unsafe.Add(ref src, (nint)r * lds);
                ref T d = ref Unsafe.Add(ref dst, (nint)r * ld);
                // a product, then a sum: never fused, so every width rounds twice as the scalar twin does
                for (int j = j0; j < j1; j += V.Count) V.Store(V.Load(ref d, j) + V.Load(ref s, j) * V.Load(ref m, j), ref d, j);
            }
        }
    }
}
