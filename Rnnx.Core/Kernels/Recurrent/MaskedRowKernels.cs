using System.Diagnostics;
using System.Numerics;
using System.Numerics.Tensors;

namespace Rnnx.Kernels;

/// <summary>
/// Per-gate dropout masks on the rows of a recurrent op (spans and integers). A mask row is chosen by r / rowsPerMask
/// (T for (b, t)-ordered rows, 1 for a step's batch rows); mask spans start at the gate's block and their rows are
/// maskLd apart. Element-wise products only (each result is one correctly rounded multiply, or a multiply then an
/// add, whatever the vector width), so the vectorized rows equal the scalar loop used for narrow rows.
/// </summary>
internal static class MaskedRowKernels
{
    /// <summary>Below this row width the scalar loop beats a vectorized call per row.</summary>
    private const int VectorizedWidth = 8;

    /// <summary>dst (rows × k, contiguous) = src (rows × k, leading dimension ld) ⊙ mask.</summary>
    public static void Multiply<T>(ReadOnlySpan<T> src, int ld, int rows, int k, ReadOnlySpan<T> masks, int maskLd, int rowsPerMask, Span<T> dst)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Debug.Assert(rows == 0 || (src.Length >= (rows - 1) * ld + k && dst.Length >= rows * k));
        for (int r = 0; r < rows; r++)
        {
            var m = masks.Slice(r / rowsPerMask * maskLd, k);
            var s = src.Slice(r * ld, k);
            var d = dst.Slice(r * k, k);
            if (k >= VectorizedWidth) TensorPrimitives.Multiply(s, m, d);
            else
                for (int j = 0; j < k; j++) d[j] = s[j] * m[j];
        }
    }

    /// <summary>dst (rows × k, leading dimension ld) += src (rows × k, contiguous) ⊙ mask (a multiply, then an add).</summary>
    public static void AddMultiplied<T>(ReadOnlySpan<T> src, int rows, int k, ReadOnlySpan<T> masks, int maskLd, int rowsPerMask, Span<T> dst, int ld)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Debug.Assert(rows == 0 || (dst.Length >= (rows - 1) * ld + k && src.Length >= rows * k));
        for (int r = 0; r < rows; r++)
        {
            var m = masks.Slice(r / rowsPerMask * maskLd, k);
            var s = src.Slice(r * k, k);
            var d = dst.Slice(r * ld, k);
            if (k >= VectorizedWidth) TensorPrimitives.MultiplyAdd(s, m, d, d);
            else
                for (int j = 0; j < k; j++) d[j] += s[j] * m[j];
        }
    }
}
