using System.Numerics;

namespace Rnnx.Kernels.Reference;

/// <summary>Scalar loops: the test oracle for <see cref="EmbeddingKernels"/> (same signatures and semantics).</summary>
internal static class ReferenceEmbedding
{
    public static void Gather<T>(ReadOnlySpan<T> table, int width, ReadOnlySpan<int> ids, Span<T> dst) where T : unmanaged
    {
        for (int i = 0; i < ids.Length; i++)
            for (int j = 0; j < width; j++) dst[i * width + j] = table[ids[i] * width + j];
    }

    public static void ScatterAdd<T>(ReadOnlySpan<T> g, int width, ReadOnlySpan<int> ids, Span<T> gTable)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int i = 0; i < ids.Length; i++)
            for (int j = 0; j < width; j++) gTable[ids[i] * width + j] += g[i * width + j];
    }
}
