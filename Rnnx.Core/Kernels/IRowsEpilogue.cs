namespace Rnnx.Kernels;

/// <summary>
/// Elementwise work a kernel applies to finished output rows while they are still in cache (a layer's bias and
/// activation after its product), instead of a pass over the whole output afterwards.
/// </summary>
/// <typeparam name="T">float or double.</typeparam>
internal interface IRowsEpilogue<T> where T : unmanaged
{
    /// <summary>True for the empty epilogue (the kernel then skips the calls).</summary>
    static abstract bool None { get; }

    /// <summary>Applies the epilogue to <paramref name="count"/> contiguous rows.</summary>
    void Apply(Span<T> rows, int count);
}
