using System.Buffers;
using Rnnx.Autodiff.Ops;

namespace Rnnx;

public readonly partial struct Tensor
{
    // ------------------------------------------------------------ embedding lookup and sequence masks

    /// <summary>
    /// Keras's embedding lookup (<c>ops.take(embeddings, ids, axis=0)</c>): ids (...) of whole numbers in
    /// [0, count) pick rows of <paramref name="table"/> (count, width), giving (..., width). Differentiable in the
    /// table (repeated ids accumulate); the ids are constants. Row in docs/derivatives.md.
    /// </summary>
    /// <param name="ids">Token ids stored as numbers (any float dtype), e.g. (batch, time).</param>
    /// <param name="table">The embedding matrix (count, width).</param>
    /// <param name="caller">Who is asking, for error messages (e.g. the layer's name); "Embedding" when null.</param>
    /// <exception cref="ArgumentException">An id is negative, not a whole number, or not below count (the message gives the id, its position and count).</exception>
    /// <exception cref="ShapeMismatchException">The table is not a matrix.</exception>
    public static Tensor Embedding(Tensor ids, Tensor table, string? caller = null)
    {
        caller ??= "Embedding";
        if (table.Rank != 2) throw new ShapeMismatchException($"{caller}: the embedding table must be (count, width), got {table.Shape}.", nameof(table));
        int n = ids.Size;
        var tape = Tape.Current;
        int[]? rented = tape is null ? ArrayPool<int>.Shared.Rent(Math.Max(n, 1)) : null;
        try
        {
            Span<int> index = tape is not null ? tape.Scratch<int>(n) : rented.AsSpan(0, n);
            CheckIds(caller, ids, table.Shape[0], index);
            return EmbeddingOp.Apply(ids, table, index);
        }
        finally
        {
            if (rented is not null) ArrayPool<int>.Shared.Return(rented);
        }
    }

    /// <summary>Converts checked ids to integers.</summary>
    internal static void IdsToIndex(TensorData ids, Span<int> index)
    {
        if (ids.DType == DType.Float32) { var s = ids.Span<float>(); for (int i = 0; i < s.Length; i++) index[i] = (int)s[i]; }
        else { var s = ids.Span<double>(); for (int i = 0; i < s.Length; i++) index[i] = (int)s[i]; }
    }

    /// <summary>Checks that every id is a whole number in [0, count) and writes them as integers.</summary>
    private static void CheckIds(string caller, Tensor ids, int count, Span<int> index)
    {
        var d = ids.Data;
        for (int i = 0; i < index.Length; i++)
        {
            double v = d.DType == DType.Float32 ? d.Span<float>()[i] : d.Span<double>()[i];
            if (v >= 0 && v < count && v == Math.Floor(v))
            {
                index[i] = (int)v;
                continue;
            }
            string what = double.IsNaN(v) ? "is NaN" : v < 0 ? "is negative" : v != Math.Floor(v) ? "is not a whole number" : $"is not below inputDim {count}";
            throw new ArgumentException(
                $"{caller}: token id {v} at position {PositionText(d.Shape, i)} of the ids {d.Shape} {what}; ids must be whole numbers in [0, {count}) (inputDim {count}).", nameof(ids));
        }
    }

    /// <summary>The multi-index of flat element <paramref name="flat"/>, e.g. (3, 5).</summary>
    private static string PositionText(Shape shape, int flat)
    {
        var parts = new int[shape.Rank];
        for (int a = shape.Rank - 1; a >= 0; a--)
        {
            parts[a] = flat % shape[a];
            flat /= shape[a];
        }
        return "(" + string.Join(", ", parts) + ")";
    }

    /// <summary>
    /// A (batch, steps) sequence mask in <paramref name="dtype"/>: 1 for the first lengths[b] steps of sample b, 0
    /// after (right-padded sequences), the mask that Keras's masking layers give for such data.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A length is negative or above steps.</exception>
    public static Tensor SequenceMask(ReadOnlySpan<int> lengths, int steps, DType dtype = DType.Float32)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        for (int b = 0; b < lengths.Length; b++)
            if ((uint)lengths[b] > (uint)steps)
                throw new ArgumentOutOfRangeException(nameof(lengths), $"SequenceMask: length {lengths[b]} of sample {b} is outside [0, {steps}].");
        var d = Tape.NewResult(new Shape(lengths.Length, steps), dtype);
        for (int b = 0; b < lengths.Length; b++)
            for (int t = 0; t < steps; t++)
            {
                int i = b * steps + t;
                if (dtype == DType.Float32) d.Span<float>()[i] = t < lengths[b] ? 1f : 0f;
                else d.Span<double>()[i] = t < lengths[b] ? 1.0 : 0.0;
            }
        d.IsStepMask = true;
        return new Tensor(d);
    }

    /// <summary>
    /// Keras's <c>Masking(mask_value)</c> mask: (batch, steps) of 1 where any feature of the step differs from
    /// <paramref name="maskValue"/>, 0 where all equal it (<c>ops.any(ops.not_equal(x, mask_value), axis=-1)</c>), in x's
    /// dtype. Not differentiable (a constant).
    /// </summary>
    /// <exception cref="ShapeMismatchException">x is not (batch, steps, features).</exception>
    public static Tensor StepMask(Tensor x, double maskValue)
    {
        if (x.Rank != 3) throw new ShapeMismatchException($"StepMask: x must be (batch, steps, features), got {x.Shape}.", nameof(x));
        int rows = x.Shape[0] * x.Shape[1], f = x.Shape[2];
        var d = Tape.NewResult(new Shape(x.Shape[0], x.Shape[1]), x.DType);
        if (x.DType == DType.Float32) AnyDiffers(x.Data.Span<float>(), (float)maskValue, rows, f, d.Span<float>());
        else AnyDiffers(x.Data.Span<double>(), maskValue, rows, f, d.Span<double>());
        d.IsStepMask = true;
        return new Tensor(d);
    }

    private static void AnyDiffers<T>(ReadOnlySpan<T> x, T value, int rows, int f, Span<T> mask) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        // NaN differs from every value, NaN included, as numpy's not_equal.
        for (int r = 0; r < rows; r++)
            mask[r] = x.Slice(r * f, f).ContainsAnyExcept(value) || HasNaN(x.Slice(r * f, f)) ? T.One : T.Zero;
    }

    private static bool HasNaN<T>(ReadOnlySpan<T> s) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        foreach (var v in s) if (T.IsNaN(v)) return true;
        return false;
    }
}
