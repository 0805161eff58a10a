namespace Rnnx;

public readonly partial struct Tensor
{
    // ------------------------------------------------------------ feeding data (not differentiable)

    /// <summary>
    /// A tensor that reads <paramref name="values"/> in place (no copy). The tensor is not differentiable data: do not
    /// change the array while the tensor is in use.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The array's length is not the shape's size.</exception>
    public static Tensor Wrap(float[] values, Shape shape)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length != shape.Size)
            throw new ShapeMismatchException($"Wrap: {values.Length} values cannot have shape {shape} ({shape.Size} elements).", nameof(values));
        return new Tensor(TensorData.Wrap(values, shape));
    }

    /// <inheritdoc cref="Wrap(float[], Shape)"/>
    public static Tensor Wrap(double[] values, Shape shape)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length != shape.Size)
            throw new ShapeMismatchException($"Wrap: {values.Length} values cannot have shape {shape} ({shape.Size} elements).", nameof(values));
        return new Tensor(TensorData.Wrap(values, shape));
    }

    /// <summary>
    /// A new tensor for the caller to fill through <paramref name="values"/> before any other use (its contents start
    /// undefined): pooled on the active tape (recycled by its Reset, so a training step that builds its batches this way
    /// allocates nothing) or on the heap without one. Not recorded: for assembling batches of data.
    /// </summary>
    /// <typeparam name="T">float (a Float32 tensor) or double (Float64).</typeparam>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public static Tensor CreateForWriting<T>(Shape shape, out Span<T> values) where T : unmanaged
    {
        if (!TensorData.IsSupported<T>()) throw new NotSupportedException($"CreateForWriting: element type {typeof(T).Name} is not supported (float or double).");
        var d = Tape.NewResult(shape, TensorData.DTypeOf<T>());
        values = d.Span<T>();
        return new Tensor(d);
    }

    /// <summary>
    /// Rows <paramref name="rows"/> (indices along axis 0) of <paramref name="src"/> copied into a new tensor (on the
    /// active tape when there is one). Not recorded: for assembling batches of data.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A row index is outside [0, rows of src).</exception>
    public static Tensor GatherRows(Tensor src, ReadOnlySpan<int> rows)
    {
        var d = src.Data;
        if (d.Shape.Rank == 0) throw new ShapeMismatchException($"GatherRows: a scalar has no rows.", nameof(src));
        int n = d.Shape[0];
        foreach (int r in rows)
            if ((uint)r >= (uint)n) throw new ArgumentOutOfRangeException(nameof(rows), $"GatherRows: row {r} is outside [0, {n}) of {d.Shape}.");
        var o = Tape.NewResult(d.Shape.With(0, rows.Length), d.DType);
        int rowLen = n == 0 ? 0 : d.Length / n;
        if (d.DType == DType.Float32) CopyRows<float>(d.Span<float>(), o.Span<float>(), rows, rowLen);
        else CopyRows<double>(d.Span<double>(), o.Span<double>(), rows, rowLen);
        return new Tensor(o);
    }

    private static void CopyRows<T>(ReadOnlySpan<T> src, Span<T> dst, ReadOnlySpan<int> rows, int rowLen) where T : unmanaged
    {
        for (int i = 0; i < rows.Length; i++) src.Slice(rows[i] * rowLen, rowLen).CopyTo(dst.Slice(i * rowLen, rowLen));
    }

    /// <summary>
    /// Rows [<paramref name="start"/>, <paramref name="start"/> + <paramref name="count"/>) of <paramref name="src"/>:
    /// <paramref name="src"/> itself for all rows, a view on the active tape (no copy; recycled with the tape while
    /// <paramref name="src"/> outlives it), or a copy without a tape. Not recorded: for splitting batches of data.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside the rows of src.</exception>
    public static Tensor RowRange(Tensor src, int start, int count)
    {
        var d = src.Data;
        if (d.Shape.Rank == 0) throw new ShapeMismatchException($"RowRange: a scalar has no rows.", nameof(src));
        int n = d.Shape[0];
        if (start < 0 || count < 0 || start > n - count)
            throw new ArgumentOutOfRangeException(nameof(start), $"RowRange: rows [{start}, {start + count}) are outside [0, {n}) of {d.Shape}.");
        if (start == 0 && count == n) return src;
        var shape = d.Shape.With(0, count);
        int rowLen = d.Length / n;
        var tape = Tape.Current;
        if (tape is not null) return new Tensor(tape.NewView(d, shape, start * rowLen));
        var o = Tape.NewResult(shape, d.DType);
        if (d.DType == DType.Float32) d.Span<float>().Slice(start * rowLen, count * rowLen).CopyTo(o.Span<float>());
        else d.Span<double>().Slice(start * rowLen, count * rowLen).CopyTo(o.Span<double>());
        return new Tensor(o);
    }
}
