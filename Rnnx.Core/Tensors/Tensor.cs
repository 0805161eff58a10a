using System.Numerics;
using System.Runtime.CompilerServices;
using System.Text;

namespace Rnnx;

/// <summary>
/// A handle to a contiguous, row-major, immutable tensor of <see cref="float"/> or <see cref="double"/>.
/// </summary>
/// <remarks>
/// <para>
/// Tensors created while a <see cref="Tape"/> is active live in that tape's pooled buffers and are recycled by
/// <see cref="Tape.Reset"/>; using such a handle afterwards throws <see cref="InvalidOperationException"/>.
/// Tensors created with no active tape (the factories, or operations outside a tape) are ordinary heap objects.
/// </para>
/// <para>
/// Operations (<c>MatMul</c>, <c>Tanh</c>, operators <c>+ - * /</c>, ...) are recorded on the
/// active tape when one of their inputs <see cref="RequiresGrad"/>; <see cref="Tape.Backward"/> then returns the gradients.
/// </para>
/// </remarks>
public readonly partial struct Tensor
{
    private readonly TensorData? _data;
    private readonly int _generation;

    internal Tensor(TensorData data)
    {
        _data = data;
        _generation = data.Generation;
    }

    internal TensorData Data
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            var d = _data;
            if (d is null || d.Generation != _generation) ThrowInvalid();
            return d!;
        }
    }

    /// <summary>
    /// The data of a tensor whose value the backward pass may have given back (<see cref="Tape.ReleaseIntermediateValues"/>):
    /// its shape and its gradient are still this pass's, only its value is gone. For <see cref="Gradients"/>.
    /// </summary>
    internal TensorData DataWithoutValue
    {
        get
        {
            var d = _data;
            return d is not null && d.ValueOverwritten && d.Generation == _generation + 1 ? d : Data;
        }
    }

    private void ThrowInvalid()
    {
        if (_data is null)
            throw new InvalidOperationException("This tensor handle is uninitialized (default(Tensor)).");
        if (_data.ValueOverwritten && _data.Generation == _generation + 1)
            throw new InvalidOperationException(
                "This tensor's value was given back or written over by the backward pass (Tape.ReleaseIntermediateValues): an intermediate " +
                "value read after Backward must be marked with Tape.KeepValue before Backward, or the flag left off.");
        throw new InvalidOperationException(
            "This tensor was recycled: it belonged to a tape that has been reset or disposed since it was created. " +
            "Copy values out (ToArray) before resetting the tape, or create the tensor outside the tape.");
    }

    /// <summary>
    /// Whether <paramref name="other"/> is the same tensor as this one (the same data, not recycled since): for caches
    /// keyed on a tensor, without comparing values.
    /// </summary>
    /// <param name="other">The tensor to compare with.</param>
    public bool IsSameTensor(Tensor other) => _data is not null && ReferenceEquals(_data, other._data) && _generation == other._generation;

    /// <summary>Whether every element is finite (no NaN or infinity).</summary>
    public bool AllFinite() => DType == DType.Float32
        ? Kernels.ReductionKernels.AllFinite<float>(AsSpan<float>())
        : Kernels.ReductionKernels.AllFinite<double>(AsSpan<double>());

    /// <summary>True when this handle refers to live data (not default and not recycled by its tape).</summary>
    public bool IsValid => _data is not null && _data.Generation == _generation;

    /// <summary>The shape.</summary>
    public Shape Shape => Data.Shape;

    /// <summary>The element type.</summary>
    public DType DType => Data.DType;

    /// <summary>Number of dimensions.</summary>
    public int Rank => Data.Shape.Rank;

    /// <summary>Number of elements.</summary>
    public int Size => Data.Length;

    /// <summary>Whether gradients flow to this tensor (parameters, watched inputs, and results of recorded operations).</summary>
    public bool RequiresGrad => Data.RequiresGrad;

    /// <summary>
    /// Whether this is a step mask made by <see cref="StepMask"/> or <see cref="SequenceMask"/> (what Masking and
    /// Embedding(maskZero) give): every value is 0 or 1 by construction, and a tensor's values cannot change afterwards,
    /// so a layer receiving it need not check them again. False for any other tensor, whatever its values.
    /// </summary>
    public bool IsStepMask => Data.IsStepMask;

    /// <summary>
    /// Marks a leaf tensor (one not produced by a recorded operation) as requiring a gradient, so that
    /// <see cref="Tape.Backward"/> returns its gradient. Returns the same tensor.
    /// </summary>
    /// <exception cref="InvalidOperationException">The tensor is the result of an operation on a tape.</exception>
    public Tensor RequireGrad()
    {
        var d = Data;
        if (d.Owner is not null && !d.RequiresGrad)
            throw new InvalidOperationException("RequireGrad: only leaf tensors (created outside a tape) can be marked; this one was produced on a tape.");
        d.RequiresGrad = true;
        return this;
    }

    /// <summary>Read-only view of the elements as <typeparamref name="T"/> (float for Float32, double for Float64).</summary>
    /// <exception cref="InvalidOperationException">The tensor's dtype is not <typeparamref name="T"/>.</exception>
    public ReadOnlySpan<T> AsSpan<T>() where T : unmanaged => Data.Span<T>();

    /// <summary>Copies the elements into a new <see cref="float"/> array (converting from double if needed).</summary>
    public float[] ToFloatArray()
    {
        var d = Data;
        var r = new float[d.Length];
        if (d.DType == DType.Float32) d.Span<float>().CopyTo(r);
        else
        {
            var s = d.Span<double>();
            for (int i = 0; i < r.Length; i++) r[i] = (float)s[i];
        }
        return r;
    }

    /// <summary>Copies the elements into a new <see cref="double"/> array (widening from float if needed).</summary>
    public double[] ToDoubleArray()
    {
        var d = Data;
        var r = new double[d.Length];
        if (d.DType == DType.Float64) d.Span<double>().CopyTo(r);
        else
        {
            var s = d.Span<float>();
            for (int i = 0; i < r.Length; i++) r[i] = s[i];
        }
        return r;
    }

    /// <summary>The single element of a one-element tensor, as a double.</summary>
    /// <exception cref="InvalidOperationException">The tensor has more than one element.</exception>
    public double Item()
    {
        var d = Data;
        if (d.Length != 1) throw new InvalidOperationException($"Item: tensor of shape {d.Shape} has {d.Length} elements, not 1.");
        return d.DType == DType.Float32 ? d.Span<float>()[0] : d.Span<double>()[0];
    }

    /// <summary>Element at a flat (row-major) index, as a double.</summary>
    public double GetValue(int flatIndex)
    {
        {
            var d = Data;
            if ((uint)flatIndex >= (uint)d.Length)
                throw new ArgumentOutOfRangeException(nameof(flatIndex), $"Index {flatIndex} is out of range for a tensor of {d.Length} elements {d.Shape}.");
            return d.DType == DType.Float32 ? d.Span<float>()[flatIndex] : d.Span<double>()[flatIndex];
        }
    }

    /// <summary>A tensor that copies <paramref name="values"/> with the given shape.</summary>
    /// <exception cref="ShapeMismatchException">The number of values is not the shape's size.</exception>
    public static Tensor FromArray(ReadOnlySpan<float> values, params ReadOnlySpan<int> shape) => FromSpan(values, new Shape(shape));

    /// <summary>A float64 tensor that copies <paramref name="values"/> with the given shape.</summary>
    /// <exception cref="ShapeMismatchException">The number of values is not the shape's size.</exception>
    public static Tensor FromArray(ReadOnlySpan<double> values, params ReadOnlySpan<int> shape) => FromSpan(values, new Shape(shape));

    /// <summary>A tensor of <typeparamref name="T"/> (float or double) that copies <paramref name="values"/>.</summary>
    public static Tensor FromSpan<T>(ReadOnlySpan<T> values, Shape shape) where T : unmanaged
    {
        if (values.Length != shape.Size)
            throw new ShapeMismatchException($"FromArray: {values.Length} values cannot have shape {shape} ({shape.Size} elements).", nameof(values));
        var d = TensorData.Allocate(shape, TensorData.DTypeOf<T>(), false);
        values.CopyTo(d.Span<T>());
        return new Tensor(d);
    }

    /// <summary>A new tensor of zeros (pooled on the active tape if there is one, like an operation's result).</summary>
    public static Tensor Zeros(Shape shape, DType dtype = DType.Float32) => Full(shape, 0.0, dtype);

    /// <summary>A new tensor filled with <paramref name="value"/> (pooled on the active tape if there is one).</summary>
    public static Tensor Full(Shape shape, double value, DType dtype = DType.Float32)
    {
        var d = Tape.NewResult(shape, dtype);
        if (dtype == DType.Float32) d.Span<float>().Fill((float)value);
        else d.Span<double>().Fill(value);
        return new Tensor(d);
    }

    /// <summary>A new tensor of ones (pooled on the active tape if there is one).</summary>
    public static Tensor Ones(Shape shape, DType dtype = DType.Float32) => Full(shape, 1.0, dtype);

    /// <summary>A scalar (rank-0) tensor.</summary>
    public static Tensor Scalar(double value, DType dtype = DType.Float32) => Full(Shape.Scalar, value, dtype);

    /// <summary>A heap copy of this tensor, independent of any tape, in the requested dtype (default: the same).</summary>
    public Tensor Copy(DType? dtype = null)
    {
        var d = Data;
        var target = dtype ?? d.DType;
        var r = TensorData.Allocate(d.Shape, target, false);
        if (target == d.DType)
        {
            if (target == DType.Float32) d.Span<float>().CopyTo(r.Span<float>());
            else d.Span<double>().CopyTo(r.Span<double>());
        }
        else if (target == DType.Float64)
        {
            var s = d.Span<float>(); var t = r.Span<double>();
            for (int i = 0; i < s.Length; i++) t[i] = s[i];
        }
        else
        {
            var s = d.Span<double>(); var t = r.Span<float>();
            for (int i = 0; i < s.Length; i++) t[i] = (float)s[i];
        }
        return new Tensor(r);
    }

    /// <summary>Shape, dtype and up to the first eight values.</summary>
    public override string ToString()
    {
        if (!IsValid) return _data is null ? "Tensor(default)" : "Tensor(recycled)";
        var d = Data;
        var sb = new StringBuilder("Tensor").Append(d.Shape).Append(' ').Append(d.DType).Append(" [");
        int n = Math.Min(8, d.Length);
        for (int i = 0; i < n; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(GetValue(i).ToString("G6", System.Globalization.CultureInfo.InvariantCulture));
        }
        if (d.Length > n) sb.Append(", ...");
        return sb.Append(']').ToString();
    }
}
