using System.Diagnostics;
using System.Numerics;

namespace Rnnx.Kernels;

/// <summary>
/// Per-gate dropout masks on the rows of a recurrent op (spans and integers). Masks are (maskRows, gates, k); row r of
/// a matrix uses mask row r / rowsPerMask (T for (b, t)-ordered rows, 1 for a step's batch rows). Scalar loops only: a
/// multiply per element beside a GEMM per gate, so they are their own reference (no SIMD path to compare).
/// </summary>
internal static class MaskedRowKernels
{
    /// <summary>dst (rows × k, contiguous) = src (rows × k, leading dimension ld) ⊙ mask of gate g.</summary>
    public static void Multiply<T>(ReadOnlySpan<T> src, int ld, int rows, int k, ReadOnlySpan<T> masks, int gates, int g, int rowsPerMask, Span<T> dst)
        where T : IBinaryFloatingPointIeee754<T>
    {
        Debug.Assert(rows == 0 || (src.Length >= (rows - 1) * ld + k && dst.Length >= rows * k));
        for (int r = 0; r < rows; r++)
        {
            var m = masks.Slice(((r / rowsPerMask) * gates + g) * k, k);
            var s = src.Slice(r * ld, k);
            var d = dst.Slice(r * k, k);
            for (int j = 0; j < k; j++) d[j] = s[j] * m[j];
        }
    }

    /// <summary>dst (rows × k, leading dimension ld) += src (rows × k, contiguous) ⊙ mask of gate g.</summary>
    public static void AddMultiplied<T>(ReadOnlySpan<T> src, int rows, int k, ReadOnlySpan<T> masks, int gates, int g, int rowsPerMask, Span<T> dst, int ld)
        where T : IBinaryFloatingPointIeee754<T>
    {
        Debug.Assert(rows == 0 || (dst.Length >= (rows - 1) * ld + k && src.Length >= rows * k));
        for (int r = 0; r < rows; r++)
        {
            var m = masks.Slice(((r / rowsPerMask) * gates + g) * k, k);
            var s = src.Slice(r * k, k);
            var d = dst.Slice(r * ld, k);
            for (int j = 0; j < k; j++) d[j] += s[j] * m[j];
        }
    }
}
