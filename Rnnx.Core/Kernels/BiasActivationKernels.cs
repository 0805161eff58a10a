using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

using Rnnx.Simd;

namespace Rnnx.Kernels;

/// <summary>
/// A bias and relu on rows in one pass: y = max(y + b, 0) per element, the bits of
/// <see cref="ReductionKernels.AddRowVector{T}"/> followed by <see cref="Elementwise.Relu{T}"/> (the same add, then the
/// same IEEE maximum with +0), reading and writing each row once instead of twice. The scalar twin is
/// <see cref="Reference.ReferenceBiasActivation"/>.
/// </summary>
internal static class BiasActivationKernels
{
    /// <summary>Rows of at least this many columns take the one pass (narrower ones: the two passes, whose bias add replicates short rows).</summary>
    public const int MinColumns = 32;

    /// <summary>y[r, c] = max(y[r, c] + b[c], 0) for <paramref name="rows"/> rows of <paramref name="cols"/> values.</summary>
    public static void AddRowVectorRelu<T>(Span<T> y, ReadOnlySpan<T> b, int rows, int cols)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (rows < 0 || cols < 0)
            throw new ArgumentOutOfRangeException(nameof(rows), $"BiasActivationKernels: negative size (rows {rows}, cols {cols}).");
        if (y.Length < (long)rows * cols || b.Length < cols)
            throw new ArgumentException($"BiasActivationKernels: {rows} x {cols} values need y {y.Length} and bias {b.Length} long enough.");
        ref T br = ref MemoryMarshal.GetReference(b);
        for (int r = 0; r < rows; r++)
        {
            ref T yr = ref Unsafe.Add(ref MemoryMarshal.GetReference(y), (nint)r * cols);
            int i = 0;
            if (Vector512.IsHardwareAccelerated) Run<T, Simd512<T>>(ref yr, ref br, cols, ref i);
            if (Vector256.IsHardwareAccelerated) Run<T, Simd256<T>>(ref yr, ref br, cols, ref i);
            if (Vector128.IsHardwareAccelerated) Run<T, Simd128<T>>(ref yr, ref br, cols, ref i);
            Run<T, Scalar<T>>(ref yr, ref br, cols, ref i);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Run<T, V>(ref T y, ref T b, int n, ref int i)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where V : struct, ISimdMath<V, T>
    {
        for (; i <= n - V.Count; i += V.Count)
            V.Store(V.Relu(V.Load(ref y, i) + V.Load(ref b, i)), ref y, i);
    }
}
