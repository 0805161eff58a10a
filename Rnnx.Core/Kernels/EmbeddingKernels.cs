namespace Rnnx.Kernels;

/// <summary>
/// Row gather and scatter-add for embedding lookups (spans and integers): rows of a (count, width) table picked by
/// integer ids. Whole-row copies and adds (the element-wise add is the SIMD <see cref="Elementwise.AddInPlace{T}"/>);
/// scalar twins in <see cref="Reference.ReferenceEmbedding"/>.
/// </summary>
internal static class EmbeddingKernels
{
    /// <summary>dst row i = table row ids[i], for i in [0, ids.Length).</summary>
    public static void Gather<T>(ReadOnlySpan<T> table, int width, ReadOnlySpan<int> ids, Span<T> dst) where T : unmanaged
    {
        for (int i = 0; i < ids.Length; i++) table.Slice(ids[i] * width, width).CopyTo(dst.Slice(i * width, width));
    }

    /// <summary>gTable row ids[i] += g row i, in order of i (repeated ids accumulate in a fixed order).</summary>
    public static void ScatterAdd<T>(ReadOnlySpan<T> g, int width, ReadOnlySpan<int> ids, Span<T> gTable)
        where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        for (int i = 0; i < ids.Length; i++) Elementwise.AddInPlace(gTable.Slice(ids[i] * width, width), g.Slice(i * width, width));
    }
}
