using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

using Rnnx.Simd;

namespace Rnnx.Kernels;

/// <summary>
/// The backward pass of a bias and activation over the rows of a channels-last output, in one pass over them: dz = 0 +
/// TOp(g, y) (the bits of <see cref="Elementwise.TernaryOverwrite{T, TOp}"/>) and the column sums of dz the bias gradient
/// needs. The sums are carried between calls in two accumulators per column, one for the even rows and one for the odd
/// rows (counted from the first row of the whole matrix), each adding its rows in order: exactly how
/// <see cref="ReductionKernels.SumRows{T}"/> sums a column whatever its vector width. <see cref="AddColumnSums{T}"/> then
/// adds even + odd into the bias gradient, so it gets SumRows's bits while dz is read once, and a caller may run the
/// rows block by block while each block is in cache. The scalar twin is
/// <see cref="Reference.ReferenceActivationGradient"/>.
/// </summary>
internal static class ActivationGradientKernels
{
    /// <summary>
    /// Rows [<paramref name="firstRow"/>, + <paramref name="rows"/>) of a (·, <paramref name="cols"/>) matrix, the spans
    /// starting at the first of them: dz = 0 + TOp(g, y) and each value added to <paramref name="even"/> or
    /// <paramref name="odd"/> (by its row's parity) of its column. <paramref name="dz"/> may be <paramref name="y"/>.
    /// </summary>
    public static void RowsWithColumnSums<T, TOp>(Span<T> dz, ReadOnlySpan<T> g, ReadOnlySpan<T> y, int firstRow, int rows, int cols,
        Span<T> even, Span<T> odd)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TOp : struct, Elementwise.ITernaryOperator<T>
    {
        if (rows < 0 || cols < 0 || firstRow < 0)
            throw new ArgumentOutOfRangeException(nameof(rows), $"ActivationGradientKernels: negative size (first row {firstRow}, rows {rows}, cols {cols}).");
        long n = (long)rows * cols;
        if (dz.Length < n || g.Length < n || y.Length < n || even.Length < cols || odd.Length < cols)
            throw new ArgumentException($"ActivationGradientKernels: {rows} x {cols} values need dz {dz.Length}, g {g.Length}, y {y.Length} of at least {n} and sums {even.Length}, {odd.Length} of at least {cols}.");
        ref T d = ref MemoryMarshal.GetReference(dz);
        ref T gr = ref MemoryMarshal.GetReference(g);
        ref T yr = ref MemoryMarshal.GetReference(y);
        ref T e = ref MemoryMarshal.GetReference(even);
        ref T o = ref MemoryMarshal.GetReference(odd);
        for (int r = 0; r < rows; r++)
        {
            nint off = (nint)r * cols;
            ref T acc = ref ((firstRow + r) & 1) == 0 ? ref e : ref o;
            ref T dr = ref Unsafe.Add(ref d, off);
            ref T grr = ref Unsafe.Add(ref gr, off);
            ref T yrr = ref Unsafe.Add(ref yr, off);
            int i = 0;
            if (Vector512.IsHardwareAccelerated) Run<T, TOp, Simd512<T>>(ref dr, ref grr, ref yrr, ref acc, cols, ref i);
            if (Vector256.IsHardwareAccelerated) Run<T, TOp, Simd256<T>>(ref dr, ref grr, ref yrr, ref acc, cols, ref i);
            if (Vector128.IsHardwareAccelerated) Run<T, TOp, Simd128<T>>(ref dr, ref grr, ref yrr, ref acc, cols, ref i);
            Run<T, TOp, Scalar<T>>(ref dr, ref grr, ref yrr, ref acc, cols, ref i);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Run<T, TOp, V>(ref T dz, ref T g, ref T y, ref T acc, int n, ref int i)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TOp : struct, Elementwise.ITernaryOperator<T>
        where V : struct, ISimdMath<V, T>
    {
        for (; i <= n - V.Count; i += V.Count)
        {
            V s = V.Zero + TOp.Invoke(V.Load(ref g, i), V.Load(ref y, i));
            V.Store(s, ref dz, i);
            V.Store(V.Load(ref acc, i) + s, ref acc, i);
        }
    }

    /// <summary>dst[c] = dst[c] + (even[c] + odd[c]): the carried sums into the bias gradient, as SumRows adds them.</summary>
    public static void AddColumnSums<T>(ReadOnlySpan<T> even, ReadOnlySpan<T> odd, Span<T> dst)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (even.Length < dst.Length || odd.Length < dst.Length)
            throw new ArgumentException($"ActivationGradientKernels: sums {even.Length}, {odd.Length} for {dst.Length} columns.");
        for (int c = 0; c < dst.Length; c++)
            dst[c] = dst[c] + (even[c] + odd[c]);
    }
}
