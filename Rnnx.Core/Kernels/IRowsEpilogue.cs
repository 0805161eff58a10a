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

/// <summary>
/// Elementwise work a kernel has done on the rows of an operand just before it reads them (an activation's derivative
/// on an output gradient), block by block while each block is in cache, instead of a pass over the whole operand first.
/// </summary>
internal interface IRowsPrologue
{
    /// <summary>Finishes rows [<paramref name="firstRow"/>, + <paramref name="count"/>) of the operand.</summary>
    void Prepare(int firstRow, int count);
}
