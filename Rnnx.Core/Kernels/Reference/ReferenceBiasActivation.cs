using System.Numerics;

namespace Rnnx.Kernels.Reference;

/// <summary>Scalar oracle for <see cref="BiasActivationKernels"/>.</summary>
internal static class ReferenceBiasActivation
{
    public static void AddRowVectorRelu<T>(Span<T> y, ReadOnlySpan<T> b, int rows, int cols) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                y[r * cols + c] = T.Max(y[r * cols + c] + b[c], T.Zero);
    }
}
